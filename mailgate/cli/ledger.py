"""The ledger side of notices: bookings, conflicts, inquiries, the daily reconcile, replay."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

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
    shop_day,
)

conflicts_app = typer.Typer(invoke_without_command=True, help="Double bookings and other clashes.")
inquiries_app = typer.Typer(invoke_without_command=True, help="Inquiries from vendors' contact forms.")
app.add_typer(conflicts_app, name="conflicts", rich_help_panel=output.DAILY)
app.add_typer(inquiries_app, name="inquiries", rich_help_panel=output.MESSAGES)
# `bookings` alone lists a day as it always did; `bookings search` (cli/booking_search.py) finds them.
bookings_app = typer.Typer(
    invoke_without_command=True,
    help="The ledger: bookings of a day (`bookings --date D`), or found by `bookings search`.",
)
app.add_typer(bookings_app, name="bookings", rich_help_panel=output.DAILY)


@bookings_app.callback(epilog="Example: mailgate bookings --date 2026-12-05")
def bookings(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    all_days: Annotated[bool, typer.Option("--all", help="every booking, not one day")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The ledger: bookings of a day, with source, staff and status."""
    if ctx.invoked_subcommand:
        return
    from mailgate.ledger.listing import bookings_on

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    on = None if all_days else shop_day(day, cfg.tz)
    with Session(c.engine) as s:
        rows = bookings_on(s, cfg.tz, on)
    if as_json:
        emit_json(rows)
        return
    shown = "of all days" if on is None else f"on {on}{'' if day else ' (today)'}"
    typer.echo(f"bookings {shown}")
    if not rows:
        typer.echo(f"no bookings {shown}")
        return
    output.show_table(
        ["#", "time", "state", "staff", "source", "reservation", "customer", "menu", "answers"],
        (_booking_row(r) for r in rows),
        zone=cfg.tz.key,
    )


def _booking_row(r: dict[str, Any]) -> list[Any]:
    conflict = "  [CONFLICT]" if r["open_conflicts"] else ""
    menu = r["menu"] + "".join(f" +{a}" for a in r["addons"]) + conflict
    when = f"{r['start_local']}-{r['end_local'][11:]}"
    staff = r["staff"] or "指名なし"
    answers = " / ".join(r["answers"])
    return [r["id"], when, r["status"], staff, r["source"], r["external_id"], r["customer"], menu, answers]


@app.command(rich_help_panel=output.DAILY)
def waitlist(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A day's waitlists (キャンセル待ち): time, customer, state, and until when a freed seat is held."""
    from mailgate.ledger.listing import waitlist_on

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    on = shop_day(day, cfg.tz)
    with Session(c.engine) as s:
        rows = waitlist_on(s, cfg.tz, on)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo(f"nobody waits on {on}")
        return
    output.show_table(
        ["#", "time", "state", "staff", "customer", "menu", "offered until"],
        (
            [
                *(r["id"], r["start_local"][11:16], r["state"], r["staff"] or "指名なし"),
                *(
                    f"#{r['customer_id']} {r['customer'] or ''}",
                    r["menu"],
                    (r["offered_until_local"] or "")[11:16],
                ),
            ]
            for r in rows
        ),
        title=f"waitlists on {on}{'' if day else ' (today)'}",
        zone=cfg.tz.key,
    )


@conflicts_app.callback()
def conflicts_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Open conflicts, soonest first."""
    if ctx.invoked_subcommand:
        return
    from mailgate.ledger.conflict_records import open_conflicts

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    with Session(c.engine) as s:
        rows = open_conflicts(s)
    if as_json:
        emit_json([{"conflict": cf.model_dump(), "booking": b.model_dump()} for cf, b in rows])
        return
    if not rows:
        typer.echo("no open conflicts")
        return
    output.show_table(
        ["#", "appointment", "source", "reservation", "booking", "why"],
        (
            [cf.id, fmt_dt(b.start, cfg)[:16], b.source, b.external_id, b.id, " / ".join(cf.reasons)]
            for cf, b in rows
        ),
        title="open conflicts, soonest first",
        zone=cfg.tz.key,
    )


@conflicts_app.command("resolve")
def conflicts_resolve(
    ctx: typer.Context,
    conflict_id: int,
    note: Annotated[str, typer.Option(help="what was done, e.g. 田中さんに変更してお客様に連絡済み")],
    operator: AsOpt = "",
) -> None:
    """Close a conflict with a note of what was done."""
    from mailgate.ledger.conflict_records import resolve
    from mailgate.models import utcnow

    cfg = load_config(ctx)
    c = build_context(cfg)
    if not note.strip():
        raise fail("--note must say what was done")
    with Session(c.engine) as s:
        try:
            resolve(s, conflict_id, operator_name(operator), note.strip(), utcnow())
        except (LookupError, ValueError) as e:
            raise fail(str(e), 1) from None
        s.commit()
    typer.echo(f"conflict {conflict_id} resolved")


@inquiries_app.callback()
def inquiries_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="open|waiting|done")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Inquiries with kind, status, assignee and next action."""
    if ctx.invoked_subcommand:
        return
    from mailgate.ledger.inquiries import listing

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    with Session(c.engine) as s:
        rows = listing(s, status=status)
    if as_json:
        emit_json([q.model_dump() for q in rows])
        return
    if not rows:
        typer.echo("no inquiries")
        return
    output.show_table(
        ["#", "received", "status", "kind", "from", "assignee", "next", "first line"],
        (
            [
                *(q.id, fmt_dt(q.received_at, cfg)[:16], q.status, q.kind, f"{q.name} <{q.email or '-'}>"),
                *(q.assignee, q.next_action_on, q.body.splitlines()[0] if q.body else ""),
            ]
            for q in rows
        ),
        title=f"inquiries{f' ({status})' if status else ''}",
        zone=cfg.tz.key,
    )


@inquiries_app.command("set")
def inquiries_set(
    ctx: typer.Context,
    inquiry_id: int,
    status: Annotated[str | None, typer.Option(help="open|waiting|done")] = None,
    assignee: Annotated[str | None, typer.Option(help="who handles it")] = None,
    next_on: Annotated[str | None, typer.Option("--next", help="next action date YYYY-MM-DD")] = None,
    booking: Annotated[int | None, typer.Option(help="the booking it became")] = None,
    operator: AsOpt = "",
) -> None:
    """Update an inquiry's status, assignee, next-action date or booking."""
    from mailgate.ledger.inquiries import update
    from mailgate.models import utcnow

    cfg = load_config(ctx)
    c = build_context(cfg)
    with Session(c.engine) as s:
        try:
            update(
                s,
                inquiry_id,
                operator=operator_name(operator),
                now=utcnow(),
                status=status,
                assignee=assignee,
                next_action_on=shop_day(next_on, cfg.tz) if next_on else None,
                booking_id=booking,
            )
        except (LookupError, ValueError) as e:
            raise fail(str(e), 1) from None
        s.commit()
    typer.echo(f"inquiry {inquiry_id} updated")


@app.command(rich_help_panel=output.MESSAGES)
def digest(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    send: Annotated[bool, typer.Option(help="queue the mail to [shop] staff_alerts")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The evening list of the day's inquiries that did not become bookings."""
    from mailgate.ledger.inquiries import send_digest, unbooked_on
    from mailgate.models import utcnow

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=not send)
    d = shop_day(day, cfg.tz)
    with Session(c.engine) as s:
        if send:
            n = send_digest(s, c.ledger, d, utcnow())
            s.commit()
            typer.echo(f"digest queued: {n} inquiries" if n else "nothing to send")
            return
        rows = unbooked_on(s, c.ledger, d)
    if as_json:
        emit_json([q.model_dump(mode="json") for q in rows])
        return
    if not rows:
        typer.echo(f"no inquiries on {d} left without a booking")
        return
    output.show_table(
        ["#", "kind", "status", "name", "address"],
        ([q.id, q.kind, q.status, q.name, q.email] for q in rows),
        title=f"inquiries on {d} that did not become bookings",
    )


@app.command(rich_help_panel=output.MESSAGES)
def reconcile(
    ctx: typer.Context,
    day: Annotated[
        str | None,
        typer.Option("--date", help="the notices about appointments on YYYY-MM-DD (default: today)"),
    ] = None,
    received: Annotated[
        str | None, typer.Option("--received", help="instead, the notices that arrived on YYYY-MM-DD")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every notice of a day with its outcome: applied, already in the ledger, conflict, deferred, held."""
    from mailgate.pipeline.reconcile import day_notices

    if day is not None and received is not None:
        raise fail("give --date (the appointment day) or --received (the day notices arrived), not both")
    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    on = shop_day(received if received is not None else day, cfg.tz)
    by = "received" if received is not None else "appointment"
    with Session(c.engine) as s:
        lines = day_notices(s, c, on, by)
    if as_json:
        emit_json([asdict(x) for x in lines])
        return
    today = "" if day or received else " (today)"
    if by == "received":
        typer.echo(f"notices received on {on}{today}; --date D lists those about the appointments of D")
    else:
        typer.echo(f"notices about appointments on {on}{today}; --received D lists those that arrived on D")
    output.show_table(
        ["message", "received", "source", "action", "reservation", "appointment", "customer", "outcome"],
        (
            [
                *(x.message_id, fmt_dt(x.received_at, cfg)[11:16], x.source, x.action, x.external_id),
                *(x.start[:16], x.customer, f"{x.verdict.upper()}: {x.reason}"),
            ]
            for x in lines
        ),
        zone=cfg.tz.key,
    )
    counts: dict[str, int] = {}
    for x in lines:
        counts[x.verdict] = counts.get(x.verdict, 0) + 1
    typer.echo(
        f"{len(lines)} notices: " + (", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none")
    )
