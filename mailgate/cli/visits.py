"""`mailgate checkin ID` / `mailgate noshow ID` (来訪チェック): whether the customer came, with the
operator's name on the audit event; `--undo` takes the mark back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated

import typer

from mailgate.cli import output
from mailgate.cli.common import AsOpt, JsonOpt, app, build_context, emit_json, load_config, operator_name
from mailgate.desk_tables import VisitState

BookingArg = Annotated[int, typer.Argument(help="the booking's number (mailgate bookings)")]
UndoOpt = Annotated[bool, typer.Option("--undo", help="take the mark back")]


def _command(state: str, doc: str) -> Callable[..., None]:
    def command(
        ctx: typer.Context,
        booking_id: BookingArg,
        undo: UndoOpt = False,
        who: AsOpt = "",
        as_json: JsonOpt = False,
    ) -> None:
        _mark(ctx, booking_id, state, undo, who, as_json)

    command.__doc__ = doc
    return command


app.command("checkin", rich_help_panel=output.DAILY, epilog="Example: mailgate checkin 1234 --as 佐藤")(
    _command(VisitState.ARRIVED, "The customer of a booking came (来訪): checked in.")
)
app.command("noshow", rich_help_panel=output.DAILY, epilog="Example: mailgate noshow 1234 --as 佐藤")(
    _command(VisitState.NO_SHOW, "The customer of a booking did not come: a no-show, counted for them.")
)


def _mark(ctx: typer.Context, booking_id: int, state: str, undo: bool, who: str, as_json: bool) -> None:
    from mailgate import db
    from mailgate.audit import Actor
    from mailgate.ledger import visits
    from mailgate.ledger.results import Status
    from mailgate.models import utcnow

    c = build_context(load_config(ctx))
    actor = Actor.operator(operator_name(who))
    with db.transaction(c.engine) as s:
        if undo:
            result = visits.undo(s, booking_id, actor, utcnow())
        else:
            result = visits.mark(s, booking_id, state, actor, utcnow())
    ok = result.status in (Status.RECORDED, Status.ALREADY)
    if as_json:
        emit_json({k: v for k, v in asdict(result).items() if k != "conflicts"})
    else:
        typer.echo(result.reason, err=not ok)
    if not ok:
        raise typer.Exit(1)
