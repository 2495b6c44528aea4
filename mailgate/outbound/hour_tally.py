"""Counts over the last hour brought forward from the last count instead of read again (SQLite).

The reply and new-customer limits count the last hour's rows at each batch's first reply. Read
afresh, a count reads the whole hour: at a load run's volume (its limits raised), 50 ms a batch at
18,000 replies in the hour. Here the count is kept per engine with the highest id the table had,
and the next one reads only what changed: rows above that id, and rows that left the window since.

It is exact where one writer holds the database for the whole transaction (db.sole_writer), so no
row can commit below the highest id seen. What is kept came from a transaction that committed (one
rolled back may have used ids that are used again); it is read afresh every REFRESH, so rows deleted
meanwhile (an erased customer's) count only until then, and when the clock went back.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session
from sqlmodel.sql.expression import Select

from mailgate import db

REFRESH = timedelta(minutes=10)
_MOST = 1000  # tallies kept per engine before the stale ones are dropped
_PENDING = "mailgate_hour_tallies"  # this transaction's tallies, kept for the engine when it commits
_KEPT: weakref.WeakKeyDictionary[Engine, dict[Hashable, Tally]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Tally:
    since: datetime  # the window's start
    upto: int  # the highest id the table had
    n: int  # distinct keys in the window up to that id
    read_at: datetime  # the window's start when it was last read afresh


@dataclass(frozen=True)
class Window:
    """What is counted: distinct values of `key` among the rows `rows(since)` selects (rows made
    after `since`), in the table whose ids are `row_id` and times `made`."""

    rows: Callable[[datetime], Select[Any]]
    key: InstrumentedAttribute[Any]
    row_id: InstrumentedAttribute[Any]
    made: InstrumentedAttribute[Any]

    def fresh(self, session: Session, since: datetime) -> int:
        """The count read from all the window's rows."""
        counted = func.count() if self.key is self.row_id else func.count(func.distinct(self.key))
        return int(
            session.scalar(self.rows(since).with_only_columns(counted, maintain_column_froms=True)) or 0
        )


def count(session: Session, name: Hashable, window: Window, since: datetime) -> int:
    """The number of distinct keys in the window after `since` (kept under `name`)."""
    if not db.sole_writer(session):
        return window.fresh(session, since)
    top = session.scalar(select(func.max(window.row_id))) or 0
    # Kept for the transaction: forgotten if it, or a savepoint in it, rolls back (freed ids).
    pending: dict[Hashable, Tally] = db.kept(session, _PENDING, dict)
    old = pending.get(name) or _KEPT.get(_engine(session), {}).get(name)
    if old is None or since < old.since or top < old.upto or since - old.read_at > REFRESH:
        tally = Tally(since, top, window.fresh(session, since), since)
    else:
        tally = Tally(since, top, _brought_forward(session, window, old, since, top), old.read_at)
    pending[name] = tally
    return tally.n


def _brought_forward(session: Session, window: Window, old: Tally, since: datetime, top: int) -> int:
    """old.n, less the keys whose last row in it left the window, plus the keys new rows brought."""
    ids, made = window.row_id, window.made
    added = set(session.scalars(window.rows(since).where(ids > old.upto, ids <= top)))
    gone = window.rows(old.since).where(ids <= old.upto, made <= since)
    left = set(session.scalars(gone)) if since > old.since else set()
    stayed: set[Any] = set()
    if window.key is not window.row_id and (added or left):  # a row's own id is never in two rows
        still = window.rows(since).where(ids <= old.upto, _in(window.key, added | left))
        stayed = set(session.scalars(still))
    return old.n - len(left - stayed) + len(added - stayed)


def _in(key: InstrumentedAttribute[Any], values: set[Any]) -> ColumnElement[bool]:
    return key.in_(sorted(values))  # sorted: the same statement for the same values


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _committed(session: OrmSession) -> None:
    pending = db.kept_already(session, _PENDING)  # type: ignore[arg-type]
    if isinstance(pending, dict) and pending:
        kept = _KEPT.setdefault(_engine(session), {})  # type: ignore[arg-type]
        kept.update(pending)
        if len(kept) > _MOST:  # one per SMTP client seen: those not asked for a while go
            latest = max(t.since for t in kept.values())
            for name in [n for n, t in kept.items() if t.since < latest - REFRESH]:
                del kept[name]


event.listen(OrmSession, "after_commit", _committed)
