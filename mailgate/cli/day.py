"""`mailgate ledger`: the day per staff member, bookings, breaks and the free gaps between them; or
`--week`, seven days in brief."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

import typer
from sqlmodel import Session

from mailgate.cli import output
from mailgate.cli.common import JsonOpt, app, build_context, emit_json, load_config, shop_day
from mailgate.times import WEEKDAYS_JA


@app.command(rich_help_panel=output.DAILY, epilog="Example: mailgate ledger --date 2026-12-05 --week")
def ledger(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    staff: Annotated[str | None, typer.Option(help="one staff member (name or alias)")] = None,
    week: Annotated[bool, typer.Option("--week", help="seven days from --date, in brief")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The day as the desk reads it: per staff member, each booking (time, customer, menu, source,
    state, conflict) and the free gaps of their shift."""
    from mailgate.db import reading
    from mailgate.ledger.day_sheet import in_brief, sheet
    from mailgate.ledger.listing import bookings_on

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    on = shop_day(day, cfg.tz)
    days = [on + timedelta(days=i) for i in range(7 if week else 1)]
    with Session(reading(c.engine)) as s:
        cal = c.calendars.current(s)
        sheets = {d: sheet(cal, d, bookings_on(s, cfg.tz, d)) for d in days}
    if staff is not None:
        name = cal.staff_named(staff) or staff
        sheets = {d: {k: v for k, v in rows.items() if k == name} for d, rows in sheets.items()}
    if week:
        _week(cfg.tz.key, {d: in_brief(cal, d, rows) for d, rows in sheets.items()}, as_json)
        return
    rows = sheets[on]
    if as_json:
        emit_json({"date": on.isoformat(), "staff": rows})
        return
    typer.echo(f"ledger on {on}{'' if day else ' (today)'}")
    for name, entries in rows.items():
        typer.echo(f"\n{name or '(no one named)'}")
        if not entries:
            typer.echo("  day off")
        for e in entries:
            typer.echo(_line(e))


def _week(zone: str, days: dict[date, dict[str, Any]], as_json: bool) -> None:
    if as_json:
        emit_json({"from": min(days).isoformat(), "days": {d.isoformat(): v for d, v in days.items()}})
        return
    people = list(dict.fromkeys(name for staff in days.values() for name in staff))
    output.show_table(
        ["staff", *(f"{d:%m/%d}({WEEKDAYS_JA[d.weekday()]})" for d in days)],
        ([name or "(no one named)", *(_cell(staff.get(name)) for staff in days.values())] for name in people),
        title=f"the week from {min(days)}: bookings, free time, conflicts",
        zone=zone,
    )


def _cell(brief: dict[str, Any] | None) -> str:
    if not brief or (not brief["shift"] and not brief["bookings"]):
        return "off"
    free = brief["free_minutes"]
    text = f"{brief['bookings']} booked\n{free // 60}:{free % 60:02d} free"
    return text + (f"\n{brief['conflicts']} CONFLICT" if brief["conflicts"] else "")


def _line(e: dict[str, Any]) -> str:
    if e["kind"] in ("free", "break"):
        return f"  {e['start']}-{e['end']}  ..... {e['kind']}"
    mark = "  [CONFLICT]" if e["open_conflicts"] else ""
    return (
        f"  {e['start_local'][11:]}-{e['end_local'][11:]}  #{e['id']:<5} {e['customer'] or '-'}  {e['menu']}"
        f"  {e['source']}  {e['status']}{mark}"
    )
