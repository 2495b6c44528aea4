"""Engine and sessions: SQLite (WAL, fsync on commit) by default, PostgreSQL by URL.

On SQLite every transaction starts with BEGIN IMMEDIATE: it takes the write lock up front, so two
processes never both read, decide and then fail to upgrade to a writer (SQLITE_BUSY_SNAPSHOT, which
the busy timeout does not retry). Sessions that only read use `reading(engine)` and stay concurrent.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import ColumnElement, event, literal_column, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, create_engine

from mailgate import (  # noqa: F401  (registers the tables)
    customer_addresses,
    desk_tables,
    followup_tables,
    models,
    notes_tables,
    shop_tables,
    sqlite_turns,
)
from mailgate.files import private_dir

_READ_ONLY = "mailgate_read_only"
_REDOABLE = "mailgate_redoable"


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for another database or an in-memory one."""
    path = url.split("///", 1)[1] if url.startswith("sqlite") and "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            create_private(path)
        # TurnTaking: this process's writers queue for the write lock instead of polling for it.
        connect = {"check_same_thread": False, "timeout": 30, "factory": sqlite_turns.TurnTaking}
        engine = create_engine(url, connect_args=connect)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def create_private(path: Path) -> None:
    """An empty file only its owner can read, for SQLite to make the database in: SQLite gives the
    WAL and its index the database file's mode, so they are private too."""
    private_dir(path.parent)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before we answer 250.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Deleted and overwritten content is zeroed, not left in free pages: an erased customer's name
    # must not be found in the file (APPI).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(_READ_ONLY, False):
        conn.exec_driver_sql("BEGIN")
        return
    raw = conn.connection.dbapi_connection
    if isinstance(raw, sqlite_turns.TurnTaking):
        raw.take_turn()
        if conn.get_execution_options().get(_REDOABLE, False):
            raw.relax()
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if isinstance(raw, sqlite_turns.TurnTaking):
            raw.give_turn()
        raise


def others_waiting(session: Session) -> bool:
    """Whether other writers of this process (intake) wait for this transaction to end: a long one
    (a worker's batch) then commits what it has. PostgreSQL: never, writers don't queue there."""
    if is_postgres(session):
        return False
    return sqlite_turns.others_waiting(session.connection().connection.dbapi_connection)


@contextmanager
def turn_on_behalf(engine: Engine) -> Iterator[None]:
    """While another process writes this SQLite database for us, our own writers wait their turn."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        yield
        return
    with sqlite_turns.on_behalf(engine.url.database):
        yield


@asynccontextmanager
async def turn_on_behalf_async(engine: Engine) -> AsyncIterator[None]:
    """turn_on_behalf for the event loop, which must not block while another writer has the turn."""
    if engine.dialect.name != "sqlite" or not engine.url.database:
        yield
        return
    async with sqlite_turns.on_behalf_async(engine.url.database):
        yield


def reading(engine: Engine) -> Engine:
    """The same database for sessions that only read: on SQLite they do not take the write lock."""
    return engine.execution_options(**{_READ_ONLY: True})


def redoable(engine: Engine) -> Engine:
    """The same database for transactions whose loss in a power cut costs only a redo (a claim, a
    lease renewal: the work is taken again). On SQLite their commit does not wait for an fsync
    (synchronous=NORMAL for that transaction); the WAL is one file written in order, so the next
    durable commit's fsync puts them on disk too. A process that dies loses nothing either way."""
    return engine.execution_options(**{_REDOABLE: True})


def is_postgres(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def unindexed(column: ColumnElement[str]) -> ColumnElement[str]:
    """A text column the query planner cannot look up through its index (`column || ''`).

    SQLite plans without statistics (nothing runs ANALYZE), and then guesses that an equality on
    any index narrows to a few rows. An index on a state or status narrows to most of the table:
    a read of a day's bookings or of a few notice keys went through it and read every row, more
    each day. Conditions on such columns are written with this, so the selective index is the one
    taken. PostgreSQL plans from its statistics and computes the same result.
    """
    return column.op("||")(literal_column("''"))


def spelled_out(words: Iterable[str]) -> list[ColumnElement[str]]:
    """Words of our own (states, statuses) written into a statement's text, for an IN: over bound
    values SQLAlchemy renders the list anew at every execution (250 µs, twice a notice)."""
    out = []
    for word in words:
        if not _WORD.fullmatch(word):
            raise ValueError(f"not a word to write into SQL: {word!r}")
        out.append(literal_column(f"'{word}'"))
    return out


_WORD = re.compile(r"[a-z_]+")


def now(session: Session) -> datetime:
    """The database's clock: leases are compared on one clock however many nodes there are.
    SQLite is embedded, so its clock is this machine's."""
    if is_postgres(session):
        value = session.exec(text("SELECT clock_timestamp()")).scalar_one()  # type: ignore[call-overload]
        return value.astimezone(UTC)
    return datetime.now(UTC)


def forget(engine: Engine) -> None:
    """After an erase: SQLite copies the old pages into the WAL, so it is written back into the
    database and emptied. PostgreSQL keeps dead row versions until vacuum reuses their space."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


class OutOfOrder(Exception):
    """A lock below one this transaction already holds, held by another: waiting for it could
    deadlock (the other may be waiting for ours), so the work that needs it goes to a later
    transaction, where it is the first to take its locks."""


_HELD = "mailgate_locks_held"
_IN_ORDER = "mailgate_locks_in_order"


def lock_number(key: str) -> int:
    """The bigint key of a named lock (PostgreSQL shows it in pg_locks as classid, objid)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def serialize(session: Session, *keys: str) -> None:
    """Hold these keys until the transaction ends, so work on the same thing (a shop's day, a
    customer's address) runs one at a time across nodes. SQLite needs nothing: BEGIN IMMEDIATE
    already lets one writer in at a time.

    Keys are taken in one order everywhere (by number). Within `locks_in_order` a key below one the
    transaction holds is only tried, never waited for (OutOfOrder when taken): a transaction then
    only ever waits for keys above all it holds, and no two can wait for each other."""
    if not is_postgres(session):
        return
    held: set[int] = session.info.setdefault(_HELD, set())
    for number in sorted({lock_number(key) for key in keys}):
        if session.info.get(_IN_ORDER) and held and number < max(held):
            try_it = text("SELECT pg_try_advisory_xact_lock(:k)").bindparams(k=number)
            if not session.exec(try_it).one()[0]:  # type: ignore[call-overload]
                raise OutOfOrder(f"lock {number} is held elsewhere and below one this transaction holds")
        else:
            session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=number))  # type: ignore[call-overload]
        # Kept after a savepoint's rollback released it: too many held only turns a wait into a try.
        held.add(number)


@contextmanager
def locks_in_order(session: Session, strict: bool = True) -> Iterator[None]:
    """Work added to a transaction that already holds locks (the second message of a batch) takes
    its locks without waiting out of order; see serialize."""
    before = session.info.get(_IN_ORDER, False)
    session.info[_IN_ORDER] = strict
    try:
        yield
    finally:
        session.info[_IN_ORDER] = before


# The transaction this thread (or task) has open, so a read made meanwhile (the calendar's version)
# goes through it. A second connection would be taken from the pool while holding one: in a burst
# (forty booking pages, each holding a connection and waiting for the write lock) it would wait for
# itself until the pool's timeout.
_OPEN: ContextVar[Session | None] = ContextVar("mailgate_open_transaction", default=None)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        token = _OPEN.set(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            _OPEN.reset(token)


def open_transaction(engine: Engine) -> Session | None:
    """The transaction this thread or task has open on `engine`'s database (through `transaction`)."""
    session = _OPEN.get()
    if session is None:
        return None
    bind = session.get_bind()
    return session if isinstance(bind, Engine) and bind.pool is engine.pool else None


def sole_writer(session: Session) -> bool:
    """Nothing else writes to the database until this transaction ends: on SQLite every writing
    transaction holds the only write lock from its BEGIN IMMEDIATE. On PostgreSQL other nodes commit
    meanwhile, and each statement sees what they committed."""
    return not is_postgres(session)


# Values read once per transaction and kept while it lasts (the calendar, the reply limits' counts):
# a batch of messages asks once instead of once per message.
_KEPT = "mailgate_kept"
T = TypeVar("T")


def kept(session: Session, key: Hashable, read: Callable[[], T]) -> T:
    """`read()`'s value, read once in this transaction. Forgotten when the transaction ends or a
    savepoint in it rolls back (what was counted may be gone with it), or by `forget_kept`."""
    values = session.info.setdefault(_KEPT, {})
    if key not in values:
        values[key] = read()
    return values[key]  # type: ignore[no-any-return]


def kept_already(session: Session, key: Hashable) -> object | None:
    """The value kept under `key` in this transaction, if one was read; None otherwise."""
    return session.info.get(_KEPT, {}).get(key)


def forget_kept(session: Session, key: Hashable) -> None:
    session.info.get(_KEPT, {}).pop(key, None)


def _forget_all(session: OrmSession, *_: object) -> None:
    session.info.pop(_KEPT, None)


def _transaction_ended(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        _forget_all(session)


event.listen(OrmSession, "after_soft_rollback", _forget_all)
event.listen(OrmSession, "after_transaction_end", _transaction_ended)
