"""Looking back: stored messages, the audit timeline, the outbox."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlmodel import Session, col, select

from mailgate.cli import output
from mailgate.cli.common import (
    JsonOpt,
    app,
    build_context,
    emit_json,
    fail,
    fmt_dt,
    load_config,
)
from mailgate.cli.history import SinceOpt, since_option
from mailgate.config import Config

messages_app = typer.Typer(invoke_without_command=True, help="Stored messages and their states.")
app.add_typer(messages_app, name="messages", rich_help_panel=output.MESSAGES)


@messages_app.callback()
def messages_list(
    ctx: typer.Context,
    state: Annotated[
        str | None, typer.Option(help="received|processing|applied|held|deferred|ignored|failed")
    ] = None,
    limit: Annotated[int, typer.Option(help="newest N")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List stored messages with their states and reasons."""
    if ctx.invoked_subcommand:
        return
    from mailgate.models import Message

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    with Session(c.engine) as s:
        stmt = select(Message).order_by(col(Message.id).desc()).limit(limit)
        if state:
            stmt = stmt.where(Message.state == state)
        rows = list(s.exec(stmt))
    if as_json:
        emit_json([r.model_dump(exclude={"decision", "traceback", "dedupe_key"}) for r in rows])
        return
    if not rows:
        typer.echo("no messages")
        return
    output.show_table(
        ["#", "received", "state", "via", "from", "to", "reason", "worker (lease until)"],
        (
            [m.id, fmt_dt(m.received_at, cfg), m.state, m.via, m.from_addr, m.rcpt, m.reason, _lease(m, cfg)]
            for m in rows
        ),
        title=f"messages{f' ({state})' if state else ''}, newest first",
        zone=cfg.tz.key,
    )


@messages_app.command("show")
def messages_show(ctx: typer.Context, message_id: int, as_json: JsonOpt = False) -> None:
    """One message: envelope, state, reason and the decision record."""
    from mailgate.models import Message

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    with Session(c.engine) as s:
        m = s.get(Message, message_id)
    if m is None:
        raise fail(f"no message {message_id}", 1)
    data = m.model_dump()
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        if key in ("decision",) and value:
            value = json.dumps(value, ensure_ascii=False, indent=1)
        typer.echo(f"{key}: {value}")


@app.command(rich_help_panel=output.MESSAGES)
def audit(
    ctx: typer.Context,
    customer: Annotated[
        str | None, typer.Option(help="customer's mail address, phone number (every customer with it) or #ID")
    ] = None,
    message: Annotated[int | None, typer.Option(help="what this stored message caused")] = None,
    booking: Annotated[int | None, typer.Option(help="what happened to this booking")] = None,
    operator: Annotated[str | None, typer.Option(help="what this operator did (their --as name)")] = None,
    since: SinceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cause and effect: what happened to a customer, a booking or because of a message, or what an
    operator did — each event with what caused it (the mail, the link, the operator by name) and
    what it changed. --operator and --since narrow the others."""
    from mailgate import audit as audit_mod
    from mailgate.ledger.customers import find_for_operator
    from mailgate.ledger.history import causes, changed

    if customer is None and message is None and booking is None and operator is None:
        raise fail("give --customer ADDRESS|PHONE|#ID, --message ID, --booking ID or --operator NAME")
    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    start = since_option(since, cfg.tz)
    with Session(c.engine) as s:
        ids: list[int] = []
        if customer is not None:
            found = find_for_operator(s, customer)
            if not found:
                raise fail(f"no customer with address, phone or id {customer}", 1)
            ids = [one.id for one in found if one.id is not None]
        events = audit_mod.timeline(
            s,
            customer_ids=ids,
            message_id=message,
            booking_id=booking,
            actor=f"operator:{operator.strip()}" if operator else None,
            since=start,
        )
        said = causes(s, events)
    shown = [
        e.model_dump(mode="json") | {"cause": said[e.actor], "what": changed(e.detail, cfg.tz)}
        for e in events
    ]
    if as_json:
        emit_json(shown)
        return
    output.show_table(
        ("time", "event", "booking", "caused by", "what"),
        [
            (
                fmt_dt(e.at, cfg)[:16],
                e.kind,
                e.detail.get("booking_id"),
                x["cause"],
                " ".join(w for w in (f"#{e.customer_id}" if e.customer_id else "", x["what"]) if w),
            )
            for e, x in zip(events, shown, strict=True)
        ],
        title=f"audit: {len(events)} events",
        zone=cfg.tz.key,
    )


@app.command(rich_help_panel=output.MESSAGES)
def outbox(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="queued|sending|sent|failed|suppressed")] = None,
    limit: Annotated[int, typer.Option(help="newest N")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Outgoing mail: queued, being sent (by whom, until when), sent and failed."""
    from mailgate.models import Outbox

    cfg = load_config(ctx)
    c = build_context(cfg, read_only=True)
    with Session(c.engine) as s:
        stmt = select(Outbox).order_by(col(Outbox.id).desc()).limit(limit)
        if state:
            stmt = stmt.where(Outbox.state == state)
        rows = list(s.exec(stmt))
    if as_json:
        emit_json([r.model_dump(exclude={"body"}) for r in rows])
        return
    if not rows:
        typer.echo("outbox empty")
        return
    output.show_table(
        ["#", "queued", "state", "tries", "to", "subject", "last error", "sender (lease until)"],
        (
            [
                r.id,
                fmt_dt(r.created_at, cfg),
                r.state,
                r.attempts,
                r.to_addr,
                r.subject,
                r.last_error,
                _lease(r, cfg),
            ]
            for r in rows
        ),
        title=f"outbox{f' ({state})' if state else ''}, newest first",
        zone=cfg.tz.key,
    )


def _lease(row: Any, cfg: Config) -> str:
    """Who holds a claimed row, and until when (the database's clock, in the shop's zone)."""
    return f"{row.claimed_by} until {fmt_dt(row.lease_until, cfg)}" if row.claimed_by else ""
