"""Audit events: every change says when, what, on whom, and what caused it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
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


def by(session: Session, kind: str, actor: Actor, **detail: Any) -> None:
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
) -> None:
    row = {
        "at": at or utcnow(),
        "kind": kind,
        "actor": actor,
        "customer_id": customer_id,
        "message_id": message_id,
        "token_id": token_id,
        "detail": detail,
    }
    gathered = session.info.get(_GATHERED)
    if gathered is None:
        session.add(Event(**row))
    else:
        gathered.append((row, session.get_nested_transaction() or session.get_transaction()))


# A batch's events are inserted together, one statement when its transaction commits, instead of
# one ORM object each, flushed before every query the batch runs. Events of a savepoint that rolls
# back go with it; whoever reads events in the transaction gets the gathered ones written first.
_GATHERED = "mailgate_audit_gathered"


_INSERT = insert(Event.__table__)  # type: ignore[attr-defined]  # built once


def gather(session: Session) -> None:
    """Events recorded in this transaction from now on are inserted together when it commits."""
    session.info.setdefault(_GATHERED, [])


def written(session: Session) -> None:
    """The events gathered so far, inserted now (before a query that reads events)."""
    gathered = session.info.get(_GATHERED)
    if gathered:
        session.execute(_INSERT, [row for row, _ in gathered])
        gathered.clear()


def _within(transaction: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is rolled_back:
            return True
        transaction = transaction.parent
    return False


def _before_commit(session: OrmSession) -> None:
    if not session.in_nested_transaction():  # a savepoint's release: the batch goes on
        written(session)  # type: ignore[arg-type]


def _rolled_back(session: OrmSession, previous: SessionTransaction) -> None:
    gathered = session.info.get(_GATHERED)
    if gathered:
        gathered[:] = [(row, tx) for row, tx in gathered if not _within(tx, previous)]


def _ended(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_GATHERED, None)


sa_event.listen(OrmSession, "before_commit", _before_commit)
sa_event.listen(OrmSession, "after_soft_rollback", _rolled_back)
sa_event.listen(OrmSession, "after_transaction_end", _ended)


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
    written(session)
    return list(session.exec(stmt))
