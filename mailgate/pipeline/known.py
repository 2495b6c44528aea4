"""What a batch knows of its notices before applying them, read with one query each at its start
instead of one per notice: which of their notice keys a message has applied already, and which of
their bookings deferred messages are waiting for.

Only where the batch is the only writer (SQLite: its transaction holds the write lock from its
start), and kept up to date by the batch itself: nothing else in its transaction applies a notice
or defers a message. Kept with `db.kept`, so a savepoint that rolls back forgets them and whatever
follows asks the database again, as before."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from mailgate import db, write_now
from mailgate.models import Message, MessageState

APPLIED = "mailgate_applied_notices"  # notice key -> the ids of messages that applied it, in order
WAITING = "mailgate_waiting_for"  # the "SOURCE:EXTERNAL_ID" deferred messages wait for


# Built once, the values as parameters (building a statement cost as much as running it).
_APPLIED = (
    select(Message.notice_key, Message.id)
    .where(
        col(Message.notice_key).in_(bindparam("keys", expanding=True)),
        db.unindexed(col(Message.state)) == MessageState.APPLIED,
    )
    .order_by(col(Message.id))
)
_WAITING = select(Message.waiting_for).where(
    col(Message.waiting_for).in_(bindparam("awaited", expanding=True)),
    db.unindexed(col(Message.state)) == MessageState.DEFERRED,
)


def read(session: Session, notice_keys: Iterable[str], waits: Iterable[str | None]) -> None:
    """What the database says of these notice keys and awaited bookings at the batch's start."""
    if not db.sole_writer(session):
        return
    keys, awaited = {k for k in notice_keys if k}, {w for w in waits if w}
    applied: dict[str, list[int]] = {}
    if keys:
        for key, message_id in write_now.columns(session, _APPLIED, {"keys": list(keys)}):
            applied.setdefault(key or "", []).append(message_id or 0)
    waiting: set[str] = set()
    if awaited:
        waiting = {w for w in write_now.columns(session, _WAITING, {"awaited": list(awaited)}).scalars() if w}
    db.kept(session, APPLIED, lambda: applied)
    db.kept(session, WAITING, lambda: waiting)


def applied_by(session: Session, notice_key: str) -> list[int] | None:
    """The messages that applied this notice, if the batch knows (None: ask the database)."""
    applied = db.kept_already(session, APPLIED)
    return applied.get(notice_key, []) if isinstance(applied, dict) else None


def nobody_waits(session: Session, waiting: str) -> bool:
    """True when the batch knows that no deferred message waits for this booking."""
    known = db.kept_already(session, WAITING)
    return isinstance(known, set) and waiting not in known


def recorded(session: Session, message: Message) -> None:
    """The batch's own message came out applied (with its notice key) or deferred (waiting)."""
    applied, waiting = db.kept_already(session, APPLIED), db.kept_already(session, WAITING)
    if message.state == MessageState.APPLIED and message.notice_key and isinstance(applied, dict):
        bisect.insort(applied.setdefault(message.notice_key, []), message.id or 0)
    if message.state == MessageState.DEFERRED and message.waiting_for and isinstance(waiting, set):
        waiting.add(message.waiting_for)
