"""`mailgate report morning`: the morning report staff get by mail, printed or sent now."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlmodel import Session

from mailgate.cli import output
from mailgate.cli.common import JsonOpt, app, build_context, emit_json, fail, load_config, shop_day

report_app = typer.Typer(help="Reports for staff: the morning report.")
app.add_typer(report_app, name="report", rich_help_panel=output.DAILY)


@report_app.command(epilog="Example: mailgate report morning --date 2031-12-03")
def morning(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: today)")] = None,
    send: Annotated[
        bool, typer.Option("--send", help="mail it to [shop] staff_alerts now (besides the daily one)")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The morning report ([report] morning_at mails it daily): the day's bookings per staff member,
    new conflicts, held messages and open inquiries."""
    from mailgate import db
    from mailgate.ledger import morning_report
    from mailgate.models import utcnow

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=not send)
    on = shop_day(day, cfg.tz)
    now = utcnow()
    if send:
        if not cfg.shop.staff_alerts:
            raise fail("nobody to send it to: set [shop] staff_alerts in mailgate.toml", 1)
        with db.transaction(c.engine) as s:
            n = morning_report.send(s, c.ledger, on, now)
        typer.echo(f"morning report for {on} queued to {n} staff address(es)")
        return
    with Session(db.reading(c.engine)) as s:
        parts = morning_report.build(s, c.ledger, on, now)
    if as_json:
        emit_json({"date": on.isoformat(), "sections": morning_report.as_json(parts)})
        return
    typer.echo(f"morning report for {on} (times in {cfg.tz.key})")
    for p in parts:
        typer.echo(f"\n{p.title}" + ("" if p.key == "ledger" else f": {p.count}"))
        typer.echo("\n".join(p.lines) if p.lines else f"  {p.empty}")
