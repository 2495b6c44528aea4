"""`mailgate stats`: the shop's numbers over a span of days (ledger/stats.py), in the shop's zone."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer
from sqlmodel import Session

from mailgate.cli import output
from mailgate.cli.common import JsonOpt, app, build_context, emit_json, fail, load_config, shop_day


@app.command(rich_help_panel=output.DAILY, epilog="Example: mailgate stats --from 2031-12-01 --to 2031-12-31")
def stats(
    ctx: typer.Context,
    first: Annotated[
        str | None, typer.Option("--from", help="YYYY-MM-DD (default: the first of --to's month)")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD, included (default: today)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Bookings by source and state (by their appointment day), new customers, mails in and out,
    held messages, conflicts, check-ins and no-shows, over days of the shop's zone."""
    from mailgate import db
    from mailgate.ledger.stats import gather

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    to = shop_day(last, cfg.tz)
    since: date = shop_day(first, cfg.tz) if first else to.replace(day=1)
    if since > to:
        raise fail(f"--from {since} is after --to {to}")
    with Session(db.reading(c.engine)) as s:
        found = gather(s, cfg.tz, since, to)
    if as_json:
        emit_json(found)
        return
    states = sorted({state for by in found["bookings"].values() for state in by})
    output.show_table(
        ["source", *states, "total"],
        [
            [source, *(by.get(state, 0) for state in states), sum(by.values())]
            for source, by in found["bookings"].items()
        ],
        title=f"{found['bookings_total']} bookings {since}..{to}",
        zone=cfg.tz.key,
    )
    days = (to - since + timedelta(days=1)).days
    output.show_table(
        ["", "count"],
        [
            ["new customers", found["new_customers"]],
            ["mails in", found["mails_in"]],
            ["mails out (queued)", found["mails_out"]],
            ["mails out (sent)", found["mails_out_sent"]],
            ["held messages (still held)", found["held"]],
            ["conflicts found", found["conflicts"]],
            ["conflicts still open", found["conflicts_open"]],
            ["checked in (来店)", found["checked_in"]],
            ["no-shows (無断キャンセル)", found["no_shows"]],
        ],
        title=f"{since}..{to} ({days} days)",
        zone=cfg.tz.key,
    )
