"""Retention: a stored message's raw bytes are kept `[retention] raw_days`, then purged, and so is the
text of mail sent that long ago. Never a held or failed message's (an operator still needs it), nor
bytes another message that is kept shares. The rows stay, without personal fields: a late
redelivery is still a duplicate, and states and reasons stay for the operator."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, and_, col, or_, select

from mailgate import db
from mailgate.config import Config
from mailgate.context import Context
from mailgate.inbound import spool
from mailgate.ledger.erasure import ERASED_RAW, PURGED_RAW, forget_message, forget_sent
from mailgate.models import Message, MessageState, Outbox, OutboxState

PURGEABLE = (MessageState.APPLIED, MessageState.IGNORED)


@dataclass
class Purge:
    messages: list[tuple[int, datetime, str]] = field(default_factory=list)  # id, received, state
    outbox: list[int] = field(default_factory=list)
    spool_files: list[str] = field(default_factory=list)


def due(session: Session, cfg: Config, now: datetime) -> tuple[list[Message], list[Outbox]]:
    cutoff = now - timedelta(days=cfg.retention.raw_days)
    forgotten = or_(
        col(Message.spool_path).startswith(PURGED_RAW), col(Message.spool_path).startswith(ERASED_RAW)
    )
    old = list(
        session.exec(
            select(Message)
            .where(col(Message.state).in_(PURGEABLE), col(Message.received_at) < cutoff, ~forgotten)
            .order_by(col(Message.id))
        )
    )
    paths = {m.spool_path for m in old}
    kept = select(Message.spool_path).where(
        col(Message.spool_path).in_(paths),
        or_(col(Message.state).not_in(PURGEABLE), col(Message.received_at) >= cutoff),
    )
    needed = set(session.exec(kept)) if paths else set()
    # Suppressed mail (to an address that bounced) was never sent: it goes as old as it was made.
    sent = select(Outbox).where(
        or_(
            and_(Outbox.state == OutboxState.SENT, col(Outbox.sent_at) < cutoff),
            and_(Outbox.state == OutboxState.SUPPRESSED, col(Outbox.created_at) < cutoff),
            # never sent (a reminder for a booking since moved): its text goes like a sent one's
            and_(Outbox.state == OutboxState.WITHDRAWN, col(Outbox.created_at) < cutoff),
        ),
        or_(Outbox.body != "", Outbox.to_addr != ""),
    )
    return [m for m in old if m.spool_path not in needed], list(session.exec(sent.order_by(col(Outbox.id))))


def purge_in(session: Session, cfg: Config, now: datetime, *, dry_run: bool = False) -> Purge:
    """What is due, forgotten in the caller's transaction (unless dry_run); files are for `finish`."""
    messages, outbox = due(session, cfg, now)
    result = Purge(
        messages=[(m.id or 0, m.received_at, m.state) for m in messages], outbox=[o.id or 0 for o in outbox]
    )
    if dry_run:
        return result
    for m in messages:
        removed = forget_message(session, m, PURGED_RAW)
        if removed is not None and removed not in result.spool_files:
            result.spool_files.append(removed)
    for row in outbox:
        forget_sent(row)
        session.add(row)
    return result


def finish(ctx: Context, done: Purge) -> None:
    for path in done.spool_files:
        spool.remove(ctx.cfg.spool_dir, path)
    db.forget(ctx.engine)


def purge(ctx: Context, now: datetime, *, dry_run: bool = False) -> Purge:
    engine = db.reading(ctx.engine) if dry_run else ctx.engine
    with db.transaction(engine) as s:
        done = purge_in(s, ctx.cfg, now, dry_run=dry_run)
        if dry_run:
            s.rollback()
    if not dry_run:
        finish(ctx, done)
    return done
