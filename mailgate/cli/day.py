"""`mailgate ledger`: the day per staff member, bookings and the free gaps between them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlmodel import Session

from mailgate.cli import output
from mailgate.cli.common import JsonOpt, app, build_context, emit_json, load_config
from mailgate.cli.ledger import _day


@app.command(rich_help_panel=output.DAILY)
def ledger(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    staff: Annotated[str | None, typer.Option(help="one staff member (name or alias)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The day as the desk reads it: per staff member, each booking (time, customer, menu, source,
    state, conflict) and the free gaps of their shift."""
    from mailgate.db import reading
    from mailgate.ledger.day_sheet import sheet
    from mailgate.ledger.listing import bookings_on

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    on = _day(day, cfg.tz)
    with Session(reading(c.engine)) as s:
        cal = c.calendars.current(s)
        rows = sheet(cal, on, bookings_on(s, cfg.tz, on))
    if staff is not None:
        name = cal.staff_named(staff) or staff
        rows = {k: v for k, v in rows.items() if k == name}
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


def _line(e: dict[str, Any]) -> str:
    if e["kind"] == "free":
        return f"  {e['start']}-{e['end']}  ..... free"
    mark = "  [CONFLICT]" if e["open_conflicts"] else ""
    return (
        f"  {e['start_local'][11:]}-{e['end_local'][11:]}  #{e['id']:<5} {e['customer'] or '-'}  {e['menu']}"
        f"  {e['source']}  {e['status']}{mark}"
    )
