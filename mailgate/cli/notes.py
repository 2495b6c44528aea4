"""`mailgate note CUSTOMER` writes an operator's note on a customer (the contact log: a title, a
status, an assignee, a next-action date); `mailgate notes set ID` changes one; `mailgate phrases`
keeps the saved titles and bodies notes start from. The logic is ledger/notes.py."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlmodel import Session

from mailgate.cli import output
from mailgate.cli.common import (
    AsOpt,
    JsonOpt,
    app,
    build_context,
    emit_json,
    fail,
    fmt_dt,
    load_config,
    operator_name,
)
from mailgate.cli.lookup import one_customer

if TYPE_CHECKING:
    from mailgate.config import Config
    from mailgate.notes_tables import Note

notes_app = typer.Typer(help="Operators' notes on customers: change one (`note CUSTOMER` writes one).")
phrases_app = typer.Typer(help="Saved phrases (定型文) that fill a note's title and body.")
app.add_typer(notes_app, name="notes", rich_help_panel=output.CUSTOMERS)
app.add_typer(phrases_app, name="phrases", rich_help_panel=output.CUSTOMERS)

CustomerArg = Annotated[str, typer.Argument(help="the customer: #ID, mail address or phone number")]
SEARCH = "--name, --phone, --email, --customer-status"
StatusHelp = "waiting (対応待ち) | in_progress (対応中) | done (完了)"
NextOpt = Annotated[str | None, typer.Option("--next", help="the next action's day, YYYY-MM-DD")]


def day_option(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"{option}: expected a date like 2031-12-05, got {text!r}") from None


@app.command(
    rich_help_panel=output.CUSTOMERS,
    epilog="\b\nExamples:\n"
    '  mailgate note 09012345678 --title "折り返し電話" --assignee 佐藤 --next 2031-12-05\n'
    '  mailgate note --bulk --name 山田 --title "年末年始の営業案内済み" --status done',
)
def note(
    ctx: typer.Context,
    customer: Annotated[
        str | None, typer.Argument(help="the customer: #ID, mail address or phone number (not with --bulk)")
    ] = None,
    title: Annotated[str | None, typer.Option(help="what it is about (or --phrase)")] = None,
    body: Annotated[str | None, typer.Option(help="the details")] = None,
    status: Annotated[str, typer.Option(help=StatusHelp)] = "waiting",
    assignee: Annotated[str, typer.Option(help="who acts on it")] = "",
    next_on: NextOpt = None,
    phrase: Annotated[
        str | None, typer.Option(help="a saved phrase's name: its title and body (mailgate phrases list)")
    ] = None,
    operator: AsOpt = "",
    bulk: Annotated[
        bool, typer.Option("--bulk", help="the same note on every customer the search finds")
    ] = False,
    name: Annotated[str | None, typer.Option(help="--bulk: part of the name or reading")] = None,
    phone: Annotated[str | None, typer.Option(help="--bulk: a phone number, any format")] = None,
    email: Annotated[str | None, typer.Option(help="--bulk: part of an address")] = None,
    customer_status: Annotated[str | None, typer.Option(help="--bulk: pending|active|ledger")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="--bulk: list whom, write nothing")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a note on a customer's history (a call, a request, something to do by a day); with
    --bulk, on every customer a search finds (the options of `customers search`)."""
    from mailgate import db
    from mailgate.ledger import notes
    from mailgate.ledger.customer_search import matching_customers
    from mailgate.models import utcnow

    search = {"name": name, "phone": phone, "email": email, "status": customer_status}
    if bulk == (customer is not None):
        raise fail(f"name one CUSTOMER, or give --bulk with a search ({SEARCH})")
    if bulk != any(v is not None for v in search.values()):
        raise fail(f"{SEARCH}: they choose the customers of --bulk (at least one)")
    cfg = load_config(ctx)
    c = build_context(cfg)
    when = day_option(next_on, "--next") if next_on else None
    who = one_customer(c, customer) if customer is not None else 0
    with db.transaction(c.engine) as s:
        saved = notes.phrase_named(s, phrase) if phrase else None
        if phrase and saved is None:
            raise fail(f"no phrase named {phrase!r} (mailgate phrases list)", 1)
        text = notes.NoteText(
            title if title is not None else saved.title if saved else "",
            body if body is not None else saved.body if saved else "",
            status,
            assignee,
            when,
        )
        if bulk:
            _write_many(s, matching_customers(s, **search), text, operator_name(operator), dry_run, as_json)
            return
        try:
            made = notes.add_note(s, who, text, operator=operator_name(operator), now=utcnow())
        except (LookupError, ValueError) as e:
            raise fail(str(e), 1) from None
        shown = note_shown(made, cfg)
    _say(shown, "written", as_json)


def _write_many(s: Session, ids: list[int], text: Any, operator: str, dry_run: bool, as_json: bool) -> None:
    """`note --bulk`: one note, with its own audit event, on each customer found; a dry run names them."""
    from mailgate.ledger import notes
    from mailgate.models import utcnow

    if not dry_run:
        try:
            ids = [
                n.customer_id for n in notes.add_note_to_many(s, ids, text, operator=operator, now=utcnow())
            ]
        except ValueError as e:
            raise fail(str(e), 1) from None
    if as_json:
        emit_json({"customers": ids, "written": not dry_run})
        return
    whom = " ".join(f"#{i}" for i in ids) or "nobody: the search found no customer"
    typer.echo(f"{'would write' if dry_run else 'wrote'} the note on {len(ids)} customers: {whom}")


@notes_app.command("set", epilog="Example: mailgate notes set 12 --status done --as 佐藤")
def notes_set(
    ctx: typer.Context,
    note_id: Annotated[int, typer.Argument(help="the note's number (customers history, tasks)")],
    status: Annotated[str | None, typer.Option(help=StatusHelp)] = None,
    assignee: Annotated[str | None, typer.Option(help='who acts on it ("" for no one)')] = None,
    next_on: NextOpt = None,
    no_next: Annotated[bool, typer.Option("--no-next", help="clear the next action's day")] = False,
    title: Annotated[str | None, typer.Option(help="a new title")] = None,
    body: Annotated[str | None, typer.Option(help="new details")] = None,
    operator: AsOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Change a note: its status, assignee, next action's day, title or details."""
    from mailgate import db
    from mailgate.ledger import notes
    from mailgate.models import utcnow

    cfg = load_config(ctx)
    c = build_context(cfg)
    dates: dict[str, Any] = {"next_on": None} if no_next else {}
    if next_on:
        dates["next_on"] = day_option(next_on, "--next")
    with db.transaction(c.engine) as s:
        try:
            made, changes = notes.update_note(
                s,
                note_id,
                operator=operator_name(operator),
                now=utcnow(),
                status=status,
                assignee=assignee,
                title=title,
                body=body,
                **dates,
            )
        except (LookupError, ValueError) as e:
            raise fail(str(e), 1) from None
        shown = note_shown(made, cfg)
    _say(shown, "changed" if changes else "unchanged", as_json)


def note_shown(n: Note, cfg: Config) -> dict[str, Any]:
    from mailgate.ledger.notes import label

    return n.model_dump(mode="json") | {
        "status_label": label(n.status),
        "created_at": fmt_dt(n.created_at, cfg),
        "updated_at": fmt_dt(n.updated_at, cfg),
    }


def _say(n: dict[str, Any], verb: str, as_json: bool) -> None:
    if as_json:
        emit_json(n)
        return
    typer.echo(
        f"note {n['id']} on customer #{n['customer_id']} {verb}: {n['title']} "
        f"[{n['status_label']} {n['status']}] assignee={n['assignee'] or '-'} next={n['next_on'] or '-'}"
    )


@phrases_app.command(
    "add",
    epilog='Example: mailgate phrases add recall --title "折り返し電話" --body "夕方以降に折り返し希望"',
)
def phrases_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a short name to choose it by (note --phrase NAME)")],
    title: Annotated[str, typer.Option(help="the note's title")],
    body: Annotated[str, typer.Option(help="the note's details")] = "",
    operator: AsOpt = "",
) -> None:
    """Save a phrase for notes written often."""
    from mailgate import db
    from mailgate.ledger import notes
    from mailgate.models import utcnow

    c = build_context(load_config(ctx))
    with db.transaction(c.engine) as s:
        try:
            notes.add_phrase(s, name, title, body, operator=operator_name(operator), now=utcnow())
        except ValueError as e:
            raise fail(str(e), 1) from None
    typer.echo(f"phrase {name} saved")


@phrases_app.command("list", epilog="Example: mailgate phrases list")
def phrases_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The saved phrases."""
    from mailgate.ledger import notes

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    with Session(c.engine) as s:
        rows = [p.model_dump(mode="json", exclude={"id"}) for p in notes.phrases(s)]
    if as_json:
        emit_json(rows)
        return
    output.show_table(
        ("name", "title", "body", "by"),
        [(p["name"], p["title"], p["body"], p["created_by"]) for p in rows],
        title="saved phrases",
    )


@phrases_app.command("remove", epilog="Example: mailgate phrases remove recall")
def phrases_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the phrase's name")],
    operator: AsOpt = "",
) -> None:
    """Remove a saved phrase (notes written from it keep their words)."""
    from mailgate import db
    from mailgate.ledger import notes
    from mailgate.models import utcnow

    c = build_context(load_config(ctx))
    with db.transaction(c.engine) as s:
        try:
            notes.remove_phrase(s, name, operator=operator_name(operator), now=utcnow())
        except LookupError as e:
            raise fail(str(e), 1) from None
    typer.echo(f"phrase {name} removed")
