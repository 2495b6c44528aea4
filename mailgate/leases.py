"""Claimed work: a row (a stored message, an outbox mail) is taken by one owner at a time.

Taking is one guarded UPDATE (on PostgreSQL over rows picked with FOR UPDATE SKIP LOCKED), so two
workers never take the same row; the owner's name and a lease on the database's clock are written
with it. Whoever finishes first re-checks that it still owns the row (`hold`), in the transaction
that records the result: a worker whose lease ran out and was taken over writes nothing.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, bindparam, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailgate import db
from mailgate.models import JobRun

log = logging.getLogger("mailgate.leases")


def owner_name(role: str) -> str:
    """Unique per worker: host and process for people reading `messages --state processing`, and for
    `is_gone` after a restart."""
    return f"{role}@{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


def is_gone(owner: str) -> bool:
    """True when `owner` was a process on this host that no longer runs: its leases need not run out
    before its work is taken again (Mailman recovers on start the same way). Owners on other hosts,
    or not named by owner_name, are never judged here: their leases run out."""
    _, _, where = owner.rpartition("@")
    host, _, rest = where.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def take_statement(
    model: Any,
    ready: Sequence[ColumnElement[bool]],
    *,
    busy_state: str,
    postgres: bool,
    returning: Sequence[Any] = (),
    **values: Any,
) -> Update:
    """What `take` runs, built once by its caller (building it cost more than running it): up to
    the parameter `limit` ready rows, lowest id first, marked `busy_state` and owned by the
    parameters `owner` until `until`. `ready` and `values` may name parameters of their own. It
    returns the rows' ids, or the columns `returning` names."""
    pick = select(model.id).where(*ready).order_by(col(model.id)).limit(bindparam("limit"))
    if postgres:
        # Under IN, PostgreSQL may run the pick again for every row the UPDATE scans (a nested-loop
        # semi join), each run locking `limit` more rows: taking them all. A materialized CTE runs once.
        picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        pick = select(picked.c.id)
    return (
        update(model)
        .where(col(model.id).in_(pick.scalar_subquery()), *ready)
        .values(state=busy_state, claimed_by=bindparam("owner"), lease_until=bindparam("until"), **values)
        .returning(*(returning or [model.id]))
        .execution_options(synchronize_session=False)
    )


def take(
    session: Session, statement: Update, *, owner: str, until: datetime, limit: int = 1, **params: Any
) -> list[int]:
    """Run a `take_statement`: the ids taken (the caller commits)."""
    given = {"owner": owner, "until": until, "limit": limit, **params}
    # On the session's connection, past the ORM's handling of an UPDATE: nothing is pending in a
    # claim's own session, and only ids come back.
    return sorted(session.connection().execute(statement, given).scalars())


def stale(session: Session, model: Any, busy_state: str, now: datetime) -> list[Any]:
    """Rows whose owner's lease ran out, or whose owner was a process on this host that is gone;
    locked (PostgreSQL: skipping rows another node is reaping) for the caller to hand on."""
    here = f"%@{socket.gethostname()}/%"
    stmt = select(model).where(
        col(model.state) == busy_state,
        or_(col(model.lease_until) < now, col(model.claimed_by).like(here)),
    )
    if db.is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return [
        row
        for row in session.exec(stmt)
        if row.lease_until is None or row.lease_until < now or is_gone(row.claimed_by or "")
    ]


def hold(session: Session, model: Any, row_id: int, owner: str, busy_state: str) -> bool:
    """True (and the row locked until the transaction ends) when `owner` still holds the row."""
    stmt = (
        update(model)
        .where(col(model.id) == row_id, col(model.state) == busy_state, col(model.claimed_by) == owner)
        .values(claimed_by=owner)
        .execution_options(synchronize_session=False)
    )
    return session.exec(stmt).rowcount == 1  # type: ignore[call-overload]


def renew(engine: Engine, model: Any, owner: str, busy_state: str, lease: timedelta) -> int:
    """Push out the lease of every row this owner holds; returns how many. Rows locked meanwhile (the
    owner's own batch is recording them) are passed over, not waited for: waiting, the renewal and the
    batch deadlocked when the batch went on to a row the renewal had locked. The next beat renews them."""
    with Session(db.redoable(engine)) as session:  # lost in a power cut: the work is taken again
        until = db.now(session) + lease
        mine = select(model.id).where(col(model.state) == busy_state, col(model.claimed_by) == owner)
        stmt = (
            update(model)
            .where(col(model.id).in_(mine.with_for_update(skip_locked=True)))
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )
        count = session.exec(stmt).rowcount  # type: ignore[call-overload]
        session.commit()
        return int(count)


@contextmanager
def kept_alive(engine: Engine, model: Any, owner: str, busy_state: str, lease: timedelta) -> Iterator[None]:
    """Renew the owner's leases in the background while the block runs: a long item (a slow DNS
    lookup for DKIM, a slow relay) keeps what it holds."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease.total_seconds() / 4):
            try:
                renew(engine, model, owner, busy_state, lease)
            except Exception as e:  # the database is away: the next beat tries again
                log.warning("lease renewal for %s failed: %s", owner, e)

    thread = threading.Thread(target=beat, name=f"lease-{owner}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def claim_period(session: Session, job: str, period: str) -> JobRun | None:
    """This node's run of `job` for `period`, or None when some node already has it (the unique key on
    job and period: a periodic job runs once per period however many nodes run)."""
    run = JobRun(job=job, period=period, node=owner_name("jobs"))
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:
        return None
    return run
