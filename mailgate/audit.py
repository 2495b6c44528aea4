"""Audit events: every change says when, what, on whom, and what caused it."""

from __future__ import annotations

from collections.abc import Iterable
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
    session: Session,
    *,
    customer_ids: Iterable[int] = (),
    message_id: int | None = None,
    booking_id: int | None = None,
    actor: str | None = None,
    since: datetime | None = None,
) -> list[Event]:
    """Events about any of the customers, caused by the message or about the booking, narrowed to
    one actor (e.g. "operator:佐藤") and to those from `since`; oldest first. Nothing asked: none."""
    about = []
    if ids := list(customer_ids):
        about.append(col(Event.customer_id).in_(ids))
    if message_id is not None:
        about.append(Event.message_id == message_id)
    if booking_id is not None:  # in the detail, where every booking event names its booking
        about.append(col(Event.detail)["booking_id"].as_integer() == booking_id)
    conds = [or_(*about)] if about else []
    if actor is not None:
        conds.append(Event.actor == actor)
    if not conds:
        return []
    if since is not None:
        conds.append(col(Event.at) >= since)
    stmt = select(Event).where(*conds).order_by(col(Event.at), col(Event.id))
    return list(session.exec(stmt))
