"""Changes and cancels that arrive before their booking wait, named by what they wait for."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.config import Config
from mailgate.models import Message, MessageState
from mailgate.pipeline import known
from mailgate.pipeline.outcome import Outcome


def key(source: str | None, external_id: str | None) -> str | None:
    return f"{source}:{external_id}" if source and external_id else None


def defer(cfg: Config, message: Message, source: str | None, external_id: str | None, why: str) -> Outcome:
    waiting = key(source, external_id)
    if waiting is None:
        # Nothing names the booking it waits for, so its arrival could never release it.
        return Outcome(
            MessageState.HELD, f"{why}, and the notice has no reservation number to wait for", "held"
        )
    message.waiting_for = waiting
    hours = cfg.notices.defer_hours
    return Outcome(MessageState.DEFERRED, f"{why}: waiting up to {hours:g} h for it to arrive", "deferred")


def release(session: Session, source: str | None, external_id: str | None, now: datetime) -> list[int]:
    """Put the messages waiting for this booking back in line; the worker applies them next."""
    waiting = key(source, external_id)
    if waiting is None or known.nobody_waits(session, waiting):
        return []
    stmt = select(Message).where(Message.waiting_for == waiting, Message.state == MessageState.DEFERRED)
    released = []
    for msg in session.exec(stmt.order_by(col(Message.id))):
        msg.state, msg.waiting_for, msg.retry_at = MessageState.RECEIVED, None, None
        msg.reason = f"{waiting} arrived: to be applied again"
        session.add(msg)
        audit.record(session, "message_released", "system", message_id=msg.id, waiting_for=waiting, at=now)
        released.append(msg.id)
    return [i for i in released if i is not None]


def expire(session: Session, cfg: Config, now: datetime) -> list[int]:
    """Hold for an operator what waited longer than [notices] defer_hours."""
    limit = now - timedelta(hours=cfg.notices.defer_hours)
    stmt = (
        select(Message)
        .where(Message.state == MessageState.DEFERRED, col(Message.processed_at) < limit)
        .with_for_update()
    )
    held = []
    for msg in session.exec(stmt):
        msg.state = MessageState.HELD
        msg.reason = f"{msg.waiting_for} never arrived within {cfg.notices.defer_hours:g} h: {msg.reason}"
        session.add(msg)
        audit.record(session, "message_held", "system", message_id=msg.id, reason=msg.reason, at=now)
        held.append(msg.id)
    return [i for i in held if i is not None]
