"""`mailgate customers search|show|edit|merge|link|unlink`: a customer at the desk or on the phone.
The work is in the ledger (customer_search, customer_records, merging, extra_addresses)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from sqlmodel import Session

from mailgate.cli.common import (
    AsOpt,
    JsonOpt,
    build_context,
    emit_json,
    fail,
    fmt_dt,
    load_config,
    operator_actor,
)
from mailgate.cli.output import show_table
from mailgate.cli.privacy import customers_app
from mailgate.config import Config

if TYPE_CHECKING:
    from mailgate.context import Context

T = TypeVar("T")
IdArg = Annotated[int, typer.Argument(help="the customer's id (`customers search` shows it)")]


def _day_start(value: str | None, cfg: Config, days: int = 0) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise fail(f"expected a date like 2026-12-03, got {value!r}") from None
    return datetime.combine(day + timedelta(days=days), time(), cfg.tz)


def _write(c: Context, work: Callable[[Session, datetime], T]) -> T:
    """`work` in one transaction; a refusal or an unknown id exits 1 with the reason."""
    from mailgate import db
    from mailgate.ledger.extra_addresses import Refused
    from mailgate.models import utcnow

    try:
        with db.transaction(c.engine) as s:
            return work(s, utcnow())
    except (LookupError, Refused) as e:
        raise fail(str(e), 1) from None


@customers_app.command(
    "search",
    epilog='Example: mailgate customers search --name "やまだ" --phone 090-1234-5678',
)
def customers_search(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="part of the name or reading: 山田, やまだ, ﾔﾏﾀﾞ")] = None,
    phone: Annotated[
        str | None, typer.Option(help="a phone number in any format, or its last digits")
    ] = None,
    email: Annotated[str | None, typer.Option(help="part of any of the customer's addresses")] = None,
    status: Annotated[str | None, typer.Option(help="active | ledger | pending | deleted | merged")] = None,
    created_from: Annotated[
        str | None, typer.Option("--from", help="created on or after (YYYY-MM-DD)")
    ] = None,
    created_to: Annotated[str | None, typer.Option("--to", help="created on or before (YYYY-MM-DD)")] = None,
    limit: Annotated[int, typer.Option(min=1, help="show at most this many")] = 50,
    now: Annotated[
        str | None, typer.Option(help="as if it were this day (for the last visit)", hidden=True)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find customers by name or reading, phone, address, status or when they were created."""
    from mailgate.ledger.customer_search import matching_customers, summaries
    from mailgate.models import utcnow

    cfg = load_config(ctx)
    since, until = _day_start(created_from, cfg), _day_start(created_to, cfg, days=1)
    c = build_context(cfg, read_only=True)
    with Session(c.engine) as s:
        ids = matching_customers(s, name, phone, email, status, since, until)
        found = summaries(s, ids[:limit], _day_start(now, cfg) or utcnow())
    more = len(ids) - len(found)
    if as_json:
        emit_json({"customers": [_local(vars(f), cfg) for f in found], "more": more})
        return
    show_table(
        ["id", "name", "reading", "phone", "email", "status", "bookings", "last visit", "no-shows"],
        [
            (
                f.id,
                f.name,
                f.name_kana,
                f.phone,
                "\n".join(f.emails),
                f.status,
                f.bookings,
                f.last_visit and f.last_visit.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M"),
                f.no_shows,
            )
            for f in found
        ],
        title=f"{len(ids)} customers"
        + (f" ({more} more: narrow the search or raise --limit)" if more else ""),
        zone=cfg.tz.key,
    )


@customers_app.command("show", epilog="Example: mailgate customers show 42")
def customers_show(ctx: typer.Context, customer_id: IdArg, as_json: JsonOpt = False) -> None:
    """One customer: details, addresses, bookings per state, the open bookings, the last 10 events."""
    from mailgate.ledger.customer_records import record
    from mailgate.models import utcnow

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    with Session(c.engine) as s:
        try:
            r = record(s, customer_id, utcnow())
        except LookupError as e:
            raise fail(str(e), 1) from None
        who = r.customer.model_dump(
            include={
                "id",
                "name",
                "name_kana",
                "phone",
                "email",
                "status",
                "memo",
                "merged_into",
                "created_at",
                "registered_at",
                "unreachable_since",
                "unreachable_reason",
            }
        )
        bookings = [
            b.model_dump(include={"id", "start", "menu", "staff", "status", "source"})
            for b in r.open_bookings
        ]
        events = [e.model_dump(include={"id", "at", "kind", "actor", "detail"}) for e in r.events]
    if as_json:
        emit_json(
            _local(who, cfg)
            | {
                "extra_addresses": r.extra_addresses,
                "bookings": r.bookings,
                "visits": r.visits,
                "open_bookings": [_local(b, cfg) for b in bookings],
                "events": [_local(e, cfg) for e in events],
            }
        )
        return
    show_table(
        ["", ""],
        [(k, fmt_dt(v, cfg) if isinstance(v, datetime) else v) for k, v in who.items()]
        + [
            ("extra addresses", "\n".join(r.extra_addresses)),
            ("bookings", ", ".join(f"{k} {n}" for k, n in sorted(r.bookings.items()))),
            ("checked in / no-shows", f"{r.visits['arrived']} / {r.visits['no_show']}"),
        ],
        title=f"customer {customer_id}",
        zone=cfg.tz.key,
    )
    show_table(
        ["id", "start", "menu", "staff", "status", "source"],
        [
            (b["id"], fmt_dt(b["start"], cfg), b["menu"], b["staff"], b["status"], b["source"])
            for b in bookings
        ],
        title="open bookings",
    )
    show_table(
        ["at", "kind", "actor", "detail"],
        [(fmt_dt(e["at"], cfg), e["kind"], e["actor"], _detail(e["detail"])) for e in events],
        title="last events (`mailgate audit --customer` has them all)",
    )


def _local(row: dict[str, Any], cfg: Config) -> dict[str, Any]:
    """Times in the shop's zone, with their offset."""
    return {k: v.astimezone(cfg.tz).isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _detail(detail: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in detail.items())


@customers_app.command(
    "edit", epilog='Example: mailgate customers edit 42 --phone 080-1111-2222 --memo "右肩が痛い" --as sato'
)
def customers_edit(
    ctx: typer.Context,
    customer_id: IdArg,
    name: Annotated[
        str | None, typer.Option(help="the full name (spaces are dropped, as on the form)")
    ] = None,
    kana: Annotated[str | None, typer.Option(help="the reading in katakana or hiragana")] = None,
    phone: Annotated[str | None, typer.Option(help="the phone number in any format")] = None,
    memo: Annotated[str | None, typer.Option(help="the shop's memo (replaces it)")] = None,
    status: Annotated[str | None, typer.Option(help="pending | active | ledger")] = None,
    operator: AsOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Change a customer's details, checked as the settings page checks them; the audit records
    each change, old -> new."""
    from mailgate.ledger.customer_records import edit
    from mailgate.models import Customer

    given = {"name": name, "name_kana": kana, "phone": phone, "memo": memo, "status": status}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        raise fail("nothing to change: give --name, --kana, --phone, --memo or --status")
    c = build_context(load_config(ctx))

    def work(s: Session, now: datetime) -> dict[str, tuple[str, str]]:
        customer = s.get(Customer, customer_id, with_for_update=True)
        if customer is None:
            raise LookupError(f"no customer {customer_id}: `mailgate customers search` finds them")
        return edit(s, c.ledger, customer, given, operator_actor(operator), now)

    changed = _write(c, work)
    if as_json:
        emit_json({"id": customer_id, "changed": changed})
        return
    for key, (old, new) in changed.items():
        typer.echo(f"{key}: {old or '-'} -> {new or '-'}")
    typer.echo(f"customer {customer_id}: {len(changed) or 'nothing'} changed")


@customers_app.command("merge", epilog="Example: mailgate customers merge 42 57 --dry-run")
def customers_merge(
    ctx: typer.Context,
    keep: Annotated[int, typer.Argument(help="the customer kept")],
    other: Annotated[int, typer.Argument(help="the customer merged into KEEP (left as status merged)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would move, change nothing")] = False,
    operator: AsOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Merge two customers who are one person: OTHER's bookings, links, mail, events, inquiries and
    waitlist entries move to KEEP, OTHER's address becomes an extra address of KEEP."""
    from mailgate.ledger.merging import merge

    c = build_context(load_config(ctx))
    done = _write(c, lambda s, now: merge(s, keep, other, operator_actor(operator), now, dry_run=dry_run))
    if as_json:
        emit_json(vars(done) | {"dry_run": dry_run})
        return
    verb = "would move" if dry_run else "moved"
    for table, n in sorted(done.moved.items()):
        typer.echo(f"{table}: {n} rows")
    if done.address:
        typer.echo(f"{done.address}: an address of customer {keep}")
    if done.filled:
        typer.echo(f"filled from customer {other}: {', '.join(done.filled)}")
    typer.echo(
        f"{verb} customer {other} into customer {keep}" + ("" if dry_run else f"; {other} is now merged")
    )


@customers_app.command("link", epilog="Example: mailgate customers link 42 hanako.new@docomo.ne.jp --as sato")
def customers_link(
    ctx: typer.Context,
    customer_id: IdArg,
    address: Annotated[str, typer.Argument(help="the extra address: mail from it reaches this customer")],
    operator: AsOpt = "",
) -> None:
    """Link an extra address to a customer (a new phone, a new carrier): mail from it is theirs."""
    which = _address(ctx, customer_id, address, operator, "link")
    shown = "email 1" if which == "email 1" else "an extra address"
    typer.echo(f"{address} is now {shown} of customer {customer_id}")


@customers_app.command("unlink", epilog="Example: mailgate customers unlink 42 hanako.old@docomo.ne.jp")
def customers_unlink(
    ctx: typer.Context,
    customer_id: IdArg,
    address: Annotated[str, typer.Argument(help="one of the customer's extra addresses")],
    operator: AsOpt = "",
) -> None:
    """Unlink an extra address: mail from it is a stranger's again."""
    _address(ctx, customer_id, address, operator, "unlink")
    typer.echo(f"{address} is no longer an address of customer {customer_id}")


def _address(ctx: typer.Context, customer_id: int, address: str, operator: str, what: str) -> str | None:
    from mailgate.ledger import extra_addresses
    from mailgate.models import Customer

    c = build_context(load_config(ctx))

    def work(s: Session, now: datetime) -> str | None:
        customer = s.get(Customer, customer_id, with_for_update=True)
        if customer is None:
            raise LookupError(f"no customer {customer_id}: `mailgate customers search` finds them")
        done: str | None = getattr(extra_addresses, what)(s, customer, address, operator_actor(operator))
        return done

    return _write(c, work)
