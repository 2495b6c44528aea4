"""`mailgate customers history CUSTOMER`: the contact log of one customer (ledger/history.py)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time, tzinfo
from typing import Annotated

import typer
from sqlmodel import Session

from mailgate.cli import output
from mailgate.cli.common import JsonOpt, build_context, emit_json, fail, fmt_dt, load_config
from mailgate.cli.lookup import one_customer
from mailgate.cli.notes import CustomerArg, day_option
from mailgate.cli.privacy import customers_app

SinceOpt = Annotated[str | None, typer.Option(help="from this day on, YYYY-MM-DD (the shop's date)")]


def since_option(text: str | None, tz: tzinfo) -> datetime | None:
    """The start of a --since day in the shop's zone."""
    return datetime.combine(day_option(text, "--since"), time(), tz) if text else None


@customers_app.command(
    "history",
    epilog="Example: mailgate customers history 090-1234-5678 --since 2031-12-01",
)
def customers_history(
    ctx: typer.Context,
    customer: CustomerArg,
    since: SinceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Everything about one customer in time order: mail in and out, booking events, operators'
    notes (with their status, assignee and next day)."""
    from mailgate.ledger.history import read
    from mailgate.models import Customer

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    start = since_option(since, cfg.tz)
    who = one_customer(c, customer)
    with Session(c.engine) as s:
        found = s.get(Customer, who)
        if found is None:
            raise fail(f"no customer #{who}", 1)
        entries = read(s, found, start, cfg.tz)
    if as_json:
        emit_json([asdict(e) | {"at": fmt_dt(e.at, cfg), "zone": cfg.tz.key} for e in entries])
        return
    contact = ", ".join(x for x in (found.email, found.phone) if x) or "no address or phone"
    output.show_table(
        ("time", "kind", "ref", "what", "by"),
        [(fmt_dt(e.at, cfg)[:16], e.kind, e.ref, e.what, e.by) for e in entries],
        title=f"#{found.id} {found.name or '-'} ({contact}): {len(entries)} entries",
        zone=cfg.tz.key,
    )
