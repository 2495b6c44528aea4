"""Audit events: every change says when, what, on whom, and what caused it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from mailgate.models import Event, utcnow


def record(
    session: Session,
    kind: str,
    actor: str,
    *,
    customer_id: int | None = None,
    message_id: int | None = None,
    token_id: int | None = None,
    at: datetime | None = None,
    **detail: Any,
) -> Event:
    event = Event(
        kind=kind,
        actor=actor,
        customer_id=customer_id,
        message_id=message_id,
        token_id=token_id,
        detail=detail,
        at=at or utcnow(),
    )
    session.add(event)
    return event


def timeline(
    session: Session, *, customer_id: int | None = None, message_id: int | None = None
) -> list[Event]:
    """Events about a customer or caused by a message, oldest first."""
    conds = []
    if customer_id is not None:
        conds.append(Event.customer_id == customer_id)
    if message_id is not None:
        conds.append(Event.message_id == message_id)
    if not conds:
        return []
    stmt = select(Event).where(or_(*conds)).order_by(col(Event.at), col(Event.id))
    return list(session.exec(stmt))
