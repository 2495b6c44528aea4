"""The intake's writer in a process of its own. Storing a batch (headers parsed, files fsynced, rows
committed) was a third of SMTP intake's CPU and ran under serve's one GIL beside the event loop that
speaks SMTP; in a child it uses the other core and the loop only sends and receives the batch.

Durability is unchanged: the child answers once the batch's transaction has committed, and only then
do the clients get 250. A child that dies fails its batch (451 to each client, which retries; a batch
it had committed is found again by its dedupe keys) and the next batch starts a new one.
"""

from __future__ import annotations

import contextlib
import errno
import signal
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from subprocess import Popen
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from mailgate import children, db
from mailgate.faults import is_our_own, is_out_of_space
from mailgate.inbound.store import Arrival, Stored, store_many

START_SECONDS = 60  # an interpreter and mailgate's imports, on a busy machine


class WriterFailed(OSError):
    """The writer could not store a batch; errno says whose fault, as faults.py reads it."""


class Writer:
    """store_many in the child: one batch at a time (GroupCommit's one writer thread calls it)."""

    def __init__(self, engine: Engine, spool_dir: Path) -> None:
        self.engine, self.spool_dir = engine, spool_dir
        self.process: Popen[bytes] | None = None
        self.conn: Connection | None = None
        self.commits = 0  # transactions the child committed, counted by the database driver there
        self._lock = threading.Lock()

    def start(self) -> Connection:
        with self._lock:
            if self.conn is None or self.process is None or self.process.poll() is not None:
                children.stop(self.process, self.conn)
                self.process, self.conn = children.start(__name__)
                self.conn.send((self.engine.url.render_as_string(hide_password=False), str(self.spool_dir)))
                # Ready: its imports done, not left to the first batch's clients. A child that never
                # answers (a broken install) fails this batch instead of holding intake for good.
                if not self.conn.poll(START_SECONDS):
                    raise OSError(errno.ETIMEDOUT, f"the intake writer did not start in {START_SECONDS} s")
                self.conn.recv()
            return self.conn

    def warm(self) -> None:
        """Started ahead of the first message; a failure here is the first batch's to report."""
        with contextlib.suppress(EOFError, OSError):
            self.start()

    def store_many(self, arrivals: Sequence[Arrival]) -> list[Stored]:
        try:
            conn = self.start()
            with db.turn_on_behalf(self.engine):  # the worker's next batch waits for this one
                conn.send(list(arrivals))
                kind, value, commits = conn.recv()
        except (EOFError, OSError) as e:  # it died: this batch fails, the next one starts another
            self.stop()
            raise WriterFailed(errno.EIO, f"the intake writer died: {e or type(e).__name__}") from None
        self.commits += commits
        if kind == "error":
            code, text = value
            raise WriterFailed(code, text)
        return value

    def stop(self, grace: float = 0) -> None:
        with self._lock:
            children.stop(self.process, self.conn, grace)
            self.process = self.conn = None


def _failure(e: Exception) -> tuple[int, str]:
    """What the parent needs of an error: whose fault (as an errno) and its text."""
    if is_out_of_space(e):
        code = errno.ENOSPC
    elif is_our_own(e):
        code = e.errno if isinstance(e, OSError) and e.errno else errno.EIO
    else:
        code = errno.EINVAL  # not a fault faults.py retries quietly: the batch's own problem
    return code, f"{type(e).__name__}: {e}"


def _child(fd: int) -> None:
    conn = Connection(fd)
    # The parent finishes the batch under way and closes the socket at shutdown: that ends us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        url, spool_dir = conn.recv()
    except (EOFError, OSError):
        return
    engine = db.make_engine(url)
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    try:
        conn.send("ready")
    except OSError:
        return
    while True:
        try:
            arrivals = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        commits.clear()
        reply: tuple[str, Any, int]
        try:
            reply = ("ok", store_many(engine, Path(spool_dir), arrivals), len(commits))
        except Exception as e:  # the parent logs it with the clients it failed
            reply = ("error", _failure(e), len(commits))
        try:
            conn.send(reply)
        except OSError:
            return


if __name__ == "__main__":
    _child(int(sys.argv[1]))
