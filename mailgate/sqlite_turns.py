"""One writer at a time per SQLite file in this process, in the order they asked, handed over at once.

SQLite lets one transaction write at a time; another `BEGIN IMMEDIATE` meanwhile is refused with
SQLITE_BUSY and its busy handler sleeps and tries again, in steps of 1 to 100 ms. Under load
(intake's group commit, the worker's batches, the outbox sender) the writers of `mailgate serve`
spent most of their waiting in those sleeps: the lock was free long before they looked again.
Here the writers of one process queue instead, and each commit or rollback hands the turn to the
next one in line. Other processes (a `mailgate process` beside serve) still meet SQLite's busy
handler, as before.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

# As PRAGMA busy_timeout: a writer that waits this long for its turn is told the database is locked.
WAIT_SECONDS = 30.0
_LOCKED = "database is locked (waited for this process's other writers)"


class Turns:
    """A first-come first-served turn to write: taken before BEGIN IMMEDIATE, given back after
    COMMIT or ROLLBACK, possibly by another thread than the one that took it."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._queue: deque[threading.Lock] = deque()
        self.waited = 0  # turns that had to wait for another writer (for tests and benchmarks)

    @property
    def waiting(self) -> int:
        with self._mutex:
            return len(self._queue)

    def take(self, seconds: float = WAIT_SECONDS) -> bool:
        """True once it is our turn; False after `seconds` in line."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            gate = threading.Lock()
            gate.acquire()
            self._queue.append(gate)
            self.waited += 1
        if gate.acquire(timeout=seconds):
            return True
        with self._mutex:
            if gate in self._queue:
                self._queue.remove(gate)
                return False
        return True  # handed to us just as we gave up: ours

    def try_take(self) -> bool:
        """The turn if it is free now, without waiting (the event loop may not block)."""
        with self._mutex:
            if self._held:
                return False
            self._held = True
            return True

    def give(self) -> None:
        with self._mutex:
            if self._queue:
                self._queue.popleft().release()  # still held: now by the next one in line
            else:
                self._held = False


_by_file: dict[str, Turns] = {}
_by_file_lock = threading.Lock()


def turns_for(database: str) -> Turns | None:
    """The turns of one database file in this process; None for an in-memory database."""
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    key = _resolved(database)
    with _by_file_lock:
        return _by_file.setdefault(key, Turns())


@functools.lru_cache(maxsize=64)
def _resolved(database: str) -> str:
    """The file's one name (symlinks and `..` resolved): asked for at every intake batch, so
    remembered instead of resolved through the file system each time."""
    return str(Path(database).resolve())


@contextmanager
def on_behalf(database: str) -> Iterator[None]:
    """This process's turn, held while another process writes the database for it (the intake
    writer): this process's own writers queue behind that write instead of meeting it in SQLite's
    busy handler, where the worker's back-to-back batches kept intake sleeping."""
    turns = turns_for(database)
    if turns is None:
        yield
        return
    if not turns.take():
        raise sqlite3.OperationalError(_LOCKED)
    try:
        yield
    finally:
        turns.give()


@asynccontextmanager
async def on_behalf_async(database: str) -> AsyncIterator[None]:
    """on_behalf for the event loop: taken at once when it is free, else waited for in a thread."""
    turns = turns_for(database)
    if turns is None:
        yield
        return
    if not turns.try_take():
        waiting = asyncio.ensure_future(asyncio.to_thread(turns.take))
        try:
            taken = await asyncio.shield(waiting)
        except asyncio.CancelledError:  # the thread may still be handed the turn: give it back then
            waiting.add_done_callback(lambda w: w.cancelled() or not w.result() or turns.give())
            raise
        if not taken:
            raise sqlite3.OperationalError(_LOCKED)
    try:
        yield
    finally:
        turns.give()


def others_waiting(raw: object) -> bool:
    """Whether writers of this process wait for the turn `raw` (a DB-API connection) holds."""
    return isinstance(raw, TurnTaking) and raw.has_turn and raw.turns is not None and raw.turns.waiting > 0


class TurnTaking(sqlite3.Connection):
    """An SQLite connection that waits for its process's turn before a write transaction
    (`take_turn`, called before BEGIN IMMEDIATE) and gives it back when the transaction ends."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self.turns = turns_for(str(database))
        self.has_turn = False
        self.relaxed = False

    def relax(self) -> None:
        """This transaction's commit need not wait for an fsync (db.redoable); set before BEGIN,
        since SQLite refuses to change it inside a transaction."""
        super().execute("PRAGMA synchronous=NORMAL")
        self.relaxed = True

    def _end(self) -> None:
        if self.relaxed and not self.in_transaction:  # a COMMIT that failed is rolled back next
            self.relaxed = False
            super().execute("PRAGMA synchronous=FULL")  # as db._sqlite_connect set it
        self.give_turn()

    def take_turn(self) -> None:
        if self.turns is None or self.has_turn:
            return
        if not self.turns.take():
            raise sqlite3.OperationalError(_LOCKED)
        self.has_turn = True

    def give_turn(self) -> None:
        if self.has_turn and self.turns is not None:
            self.has_turn = False
            self.turns.give()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_turn()
