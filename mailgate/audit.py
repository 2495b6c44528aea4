"""Audit events: every change says when, what, on whom, and what caused it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from mailgate.models import Event, utcnow


@dataclass(frozen=True)
class Actor:
    """Who or what caused a change: written on every audit event and outgoing mail it causes."""

    name: str  # message:ID | link:PURPOSE:ID | operator:NAME | system
    message_id: int | None = None  # the stored message that caused it
    token_id: int | None = None  # the signed link that was used
    reply_to: str = ""  # Message-ID (no brackets) a reply threads under

    @classmethod
    def operator(cls, name: str) -> Actor:
        return cls(f"operator:{name}")


SYSTEM = Actor("system")


def by(session: Session, kind: str, actor: Actor, **detail: Any) -> Event:
    """An event caused by `actor` (its message and link are linked to the event)."""
    return record(session, kind, actor.name, message_id=actor.message_id, token_id=actor.token_id, **detail)


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
