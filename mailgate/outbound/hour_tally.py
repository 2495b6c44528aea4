"""Counts over the last hour brought forward from the last count instead of read again (SQLite).

The reply and new-customer limits count the last hour's rows at each batch's first reply. Read
afresh, a count reads the whole hour: at a load run's volume (its limits raised), 50 ms a batch at
18,000 replies in the hour. Here the count is kept per engine with the highest id the table had,
and the next one reads only what changed: rows above that id, and rows that left the window since.

It is exact where one writer holds the database for the whole transaction (db.sole_writer), so no
row can commit below the highest id seen. A limit far from reached needs no count at all: `at_most`
bounds it from the highest id alone (one query where a count brought forward takes three or four).
What is kept came from a transaction that committed (one rolled back may have used ids that are used
again); it is read afresh every REFRESH, so rows deleted meanwhile (an erased customer's) count only
until then, and when the clock went back.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import bindparam, event, func, select
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
# serve commits from several threads (intake, the worker, pages): their after-commit hooks must not
# change the kept tallies while another thread reads or prunes them.
_KEPT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Tally:
    since: datetime  # the window's start
    upto: int  # the highest id the table had
    n: int  # distinct keys in the window up to that id
    read_at: datetime  # the window's start when it was last read afresh


@dataclass(frozen=True)
class Window:
    """What is counted: distinct values of `key` among the rows `rows` selects, which are those made
    after the parameter `since` (`made > :since`), in the table whose ids are `row_id`. Its
    statements are built once (building one costs as much as running it)."""

    rows: Select[Any]
    key: InstrumentedAttribute[Any]
    row_id: InstrumentedAttribute[Any]
    made: InstrumentedAttribute[Any]

    @cached_property
    def fresh(self) -> Select[Any]:
        counted = func.count() if self.key is self.row_id else func.count(func.distinct(self.key))
        return self.rows.with_only_columns(counted, maintain_column_froms=True)

    @cached_property
    def top(self) -> Select[Any]:
        return select(func.max(self.row_id))

    @cached_property
    def added(self) -> Select[Any]:
        return self.rows.where(self.row_id > bindparam("upto"), self.row_id <= bindparam("top"))

    @cached_property
    def gone(self) -> Select[Any]:
        return self.rows.where(self.row_id <= bindparam("upto"), self.made <= bindparam("until"))

    @cached_property
    def stayed(self) -> Select[Any]:
        keys = self.key.in_(bindparam("keys", expanding=True))
        return self.rows.where(self.row_id <= bindparam("upto"), keys)


def count(
    session: Session, name: Hashable, window: Window, since: datetime, params: dict[str, Any] | None = None
) -> int:
    """The number of distinct keys in the window after `since` (kept under `name`); `params`: the
    values of the window's other parameters."""
    given = {**(params or {}), "since": since}
    if not db.sole_writer(session):
        return int(session.scalar(window.fresh, given) or 0)
    top = session.scalar(window.top) or 0
    old = _last(session, name, since, top)
    if old is None:
        tally = Tally(since, top, int(session.scalar(window.fresh, given) or 0), since)
    else:
        tally = Tally(since, top, _brought_forward(session, window, old, given, top), old.read_at)
    _pending(session)[name] = tally
    return tally.n


def at_most(session: Session, name: Hashable, window: Window, since: datetime) -> int | None:
    """An upper bound on `count` from one query, None when there is no kept count to start from:
    the kept count (rows only leave the window as `since` moves on) plus one for every id above
    the highest it saw (each new row may bring one key). The kept count is not moved forward."""
    if not db.sole_writer(session):
        return None
    top = session.scalar(window.top) or 0
    old = _last(session, name, since, top)
    return None if old is None else old.n + top - old.upto


def asked(
    session: Session, name: Hashable, window: Window, since: datetime, params: dict[str, Any]
) -> tuple[Callable[[], int], Callable[[], int | None]]:
    """`count` and `at_most` of one window, run only when called (caps.Counts.reached)."""
    return (
        lambda: count(session, name, window, since, params),
        lambda: at_most(session, name, window, since),
    )


def _pending(session: Session) -> dict[Hashable, Tally]:
    """This transaction's counts: forgotten if it, or a savepoint in it, rolls back (freed ids)."""
    return db.kept(session, _PENDING, dict)


def _last(session: Session, name: Hashable, since: datetime, top: int) -> Tally | None:
    """The last count under `name`, if it can be brought forward to `since` with the table's highest
    id at `top`: not when the clock went back, ids did, or it was read afresh more than REFRESH ago."""
    old = _pending(session).get(name) or _kept(session, name)
    if old is None or since < old.since or top < old.upto or since - old.read_at > REFRESH:
        return None
    return old


def _brought_forward(session: Session, window: Window, old: Tally, given: dict[str, Any], top: int) -> int:
    """old.n, less the keys whose last row in it left the window, plus the keys new rows brought."""
    since = given["since"]
    added = set(session.scalars(window.added, {**given, "upto": old.upto, "top": top}))
    left: set[Any] = set()
    if since > old.since:
        left = set(
            session.scalars(window.gone, {**given, "since": old.since, "upto": old.upto, "until": since})
        )
    stayed: set[Any] = set()
    if window.key is not window.row_id and (added or left):  # a row's own id is never in two rows
        # sorted: the same statement for the same values
        keys = sorted(added | left)
        stayed = set(session.scalars(window.stayed, {**given, "upto": old.upto, "keys": keys}))
    return old.n - len(left - stayed) + len(added - stayed)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _kept(session: Session, name: Hashable) -> Tally | None:
    with _KEPT_LOCK:
        return _KEPT.get(_engine(session), {}).get(name)


def _committed(session: OrmSession) -> None:
    pending = db.kept_already(session, _PENDING)  # type: ignore[arg-type]
    if not isinstance(pending, dict) or not pending:
        return
    with _KEPT_LOCK:
        kept = _KEPT.setdefault(_engine(session), {})  # type: ignore[arg-type]
        kept.update(pending)
        if len(kept) > _MOST:  # one per SMTP client seen: those not asked for a while go
            latest = max(t.since for t in kept.values())
            for name in [n for n, t in kept.items() if t.since < latest - REFRESH]:
                del kept[name]


event.listen(OrmSession, "after_commit", _committed)
