"""`mailgate bookings search`: a caller's booking found by what they remember (ledger/booking_search.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from sqlmodel import Session

from mailgate.cli import output
from mailgate.cli.common import JsonOpt, build_context, emit_json, fail, load_config
from mailgate.cli.ledger import bookings_app

DayOpt = Annotated[str | None, typer.Option(help="YYYY-MM-DD")]
STATES = ("tentative", "application", "confirmed", "cancelled", "expired")


@bookings_app.command(
    epilog='Example: mailgate bookings search --name "やまだ はなこ" --from 2026-12-01',
)
def search(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="name or reading, partial; kanji or kana, spaces or not")] = "",
    phone: Annotated[str, typer.Option(help="phone in any format (090-1234-5678, +81 90 ...)")] = "",
    email: Annotated[str, typer.Option(help="mail address, or part of it")] = "",
    number: Annotated[int | None, typer.Option(help="the booking's number")] = None,
    vendor_number: Annotated[str, typer.Option(help="the vendor's reservation number")] = "",
    on: DayOpt = None,
    day_from: Annotated[str | None, typer.Option("--from", help="booked for this day or later")] = None,
    day_to: Annotated[str | None, typer.Option("--to", help="booked for this day or earlier")] = None,
    created: Annotated[str | None, typer.Option(help="made on YYYY-MM-DD")] = None,
    changed: Annotated[str | None, typer.Option(help="last changed on YYYY-MM-DD")] = None,
    state: Annotated[str, typer.Option(help="|".join(STATES))] = "",
    source: Annotated[str, typer.Option(help="web, mail, phone, desk, walk_in, a vendor")] = "",
    staff: Annotated[str, typer.Option(help="a staff member's name or alias")] = "",
    limit: Annotated[int, typer.Option(min=1, max=1000, help="show at most this many")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Bookings matching every filter given, newest first, with the customer and their no-shows."""
    from mailgate.db import reading
    from mailgate.ledger.booking_search import Query
    from mailgate.ledger.booking_search import search as find

    if state and state not in STATES:
        raise fail(f"--state: one of {', '.join(STATES)}, got {state!r}")
    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    first, last = (_date(on, "--on"),) * 2 if on else (_date(day_from, "--from"), _date(day_to, "--to"))
    with Session(reading(c.engine)) as s:
        who = c.calendars.current(s).staff_named(staff) if staff else ""
        q = Query(
            name=name,
            phone=phone,
            email=email,
            number=number,
            vendor_number=vendor_number,
            day_from=first,
            day_to=last,
            created=_date(created, "--created"),
            changed=_date(changed, "--changed"),
            state=state,
            source=source,
            staff=who or staff,
            limit=limit,
        )
        found = find(s, cfg.tz, q)
    more = found.total - len(found.rows)
    if as_json:
        emit_json({"total": found.total, "more": more, "bookings": found.rows})
        return
    output.show_table(
        ("#", "start", "end", "staff", "customer", "phone", "menu", "source", "state", "visit", "no-shows"),
        (
            (
                r["id"],
                r["start_local"],
                r["end_local"][11:],
                r["staff"] or "指名なし",
                f"#{r['customer_id']} {r['customer']}" if r["customer_id"] else "",
                r["phone"],
                r["menu"],
                f"{r['source']} {r['external_id'] or ''}".strip(),
                r["status"],
                r["visit"],
                r["no_shows"] or "",
            )
            for r in found.rows
        ),
        title=f"{found.total} bookings found",
        zone=cfg.tz.key,
    )
    if more:
        typer.echo(f"{more} more: narrow the search, or --limit {min(1000, found.total)}")


def _date(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: expected a date like 2026-12-03, got {value!r}") from None
