"""serve's worker in a process of its own.

Recording outcomes is the ORM's work, several milliseconds of CPU a message; in serve's process it
shared one interpreter lock with the SMTP loop, the pages and the outbox sender, and at 200 messages
a second the process ran out of it: a backlog built up behind the 250s (README "Latency from 250
to the outbox row"). In a child it has an interpreter and a core of its own. The child keeps to
serve's SQLite turns (sqlite_turns.borrow_turns), so its batches and intake's still take turns in
the order they asked; its log lines are written by serve, as its own are.

Parent and child speak over a socket pair: "arrived" from serve when intake stored mail, "recorded"
(with a count) and log records from the child. The child stops when serve closes its end (after
finishing the pass under way), and when serve dies.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import signal
import socket
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle
from subprocess import Popen
from typing import Any

from mailgate import children, malloc_arenas, sqlite_turns
from mailgate.context import Context
from mailgate.faults import is_our_own
from mailgate.pipeline import isolated
from mailgate.pipeline.arrivals import Arrivals
from mailgate.pipeline.worker import process_pending

log = logging.getLogger("mailgate.pipeline")
POLL_SECONDS = 5.0  # a pass with no mail for this long ends: the next one reaps stale claims
START_SECONDS = 120.0  # an interpreter, mailgate's imports and the readers, on a busy machine
STOP_SECONDS = 60.0  # a pass under way finishes what it has read before the child exits


class WorkerProcess:
    """The child, started again by `run` each time after it stopped; `arrived` from any thread."""

    def __init__(self, ctx: Context, on_recorded: Callable[[int], None]) -> None:
        self.ctx, self.on_recorded = ctx, on_recorded
        self.process: Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._send = threading.Lock()
        self.stopping = False

    def arrived(self) -> None:
        """Intake stored mail: the child's waiting pass claims it now."""
        with self._send:
            if self._conn is not None:
                with contextlib.suppress(OSError):  # it died: the next one finds the mail
                    self._conn.send(("arrived",))

    def run(self) -> int | None:
        """Start the child and serve it until it exits; its exit status."""
        process, conn = children.start(__name__)
        ours, theirs = socket.socketpair()
        turns = Connection(ours.detach())
        try:
            conn.send((self.ctx.cfg, logging.getLogger().getEffectiveLevel()))
            send_handle(conn, theirs.fileno(), process.pid)
            theirs.close()
            if self.ctx.engine.dialect.name == "sqlite":
                database = self.ctx.engine.url.database or ""
                threading.Thread(target=sqlite_turns.lend_turns, args=(database, turns), daemon=True).start()
            with self._send:
                self.process, self._conn = process, conn
            if self.stopping:
                self.stop()
            self._listen(conn)
        finally:
            with self._send:
                self._conn = None
            children.stop(process, conn, 5)  # it closed its end: it is exiting
            turns.close()  # a turn it held is given back as the lender sees the end
        return process.returncode

    def _listen(self, conn: Connection) -> None:
        while True:
            try:
                kind, value = conn.recv()
            except (EOFError, OSError):
                return
            if kind == "recorded":
                self.on_recorded(value)
            elif kind == "log":
                record = logging.makeLogRecord(value)
                logging.getLogger(record.name).handle(record)

    def stop(self) -> None:
        """The child finishes its pass and exits; after STOP_SECONDS it is killed."""
        self.stopping = True
        with self._send:
            conn, process = self._conn, self.process
            self._conn = None
        if conn is not None:
            # Our half only: the child reads the end of it, and still sends its last lines.
            with contextlib.suppress(OSError):
                _shut_writing(conn)
        if process is not None:
            killer = threading.Timer(STOP_SECONDS, lambda: process.poll() is None and process.kill())
            killer.daemon = True
            killer.start()


def _shut_writing(conn: Connection) -> None:
    with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as ours:  # a duplicate
        ours.shutdown(socket.SHUT_WR)


class _ToParent(logging.handlers.QueueHandler):
    """The child's log records, sent to serve to be written with serve's own."""

    def __init__(self, send: Callable[[tuple[str, Any]], None]) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self.setFormatter(logging.Formatter("%(message)s"))  # serve's formatter writes the line
        self._to = send

    def enqueue(self, record: logging.LogRecord) -> None:
        self._to(("log", record.__dict__))

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # serve is gone: nobody reads them, and the child is about to stop


def _dies_with_parent() -> None:
    """Killed with serve, as when it was serve's thread: a node that dies stops recording at once,
    and its claims are taken over (a worker left running would finish them unseen)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child(fd: int) -> None:
    _dies_with_parent()
    conn = Connection(fd)
    # serve stops us by closing its end, after its own shutdown: the terminal's Ctrl-C is serve's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lock = threading.Lock()

    def send(item: tuple[str, Any]) -> None:
        with lock:
            conn.send(item)

    try:
        cfg, level = conn.recv()
        turns = Connection(recv_handle(conn))
    except (EOFError, OSError):
        return
    logging.basicConfig(level=level, handlers=[_ToParent(send)], force=True)
    malloc_arenas.limit()
    ctx = Context.build(cfg, check_schema=False)
    if ctx.engine.dialect.name == "sqlite" and ctx.engine.url.database:
        sqlite_turns.borrow_turns(ctx.engine.url.database, turns)
    arrivals = Arrivals()
    threading.Thread(target=_announce, args=(conn, arrivals), daemon=True).start()
    try:
        isolated.start_readers(ctx)
    except Exception:
        log.exception("starting the readers failed; the first messages start them")

    def recorded(count: int) -> None:
        with contextlib.suppress(OSError):
            send(("recorded", count))

    while not arrivals.closed:
        try:
            process_pending(ctx, arrivals=arrivals, linger=POLL_SECONDS, on_recorded=recorded)
        except Exception as e:  # the database went away, the disk is full: log, wait, try again
            if is_our_own(e):
                log.error("worker pass failed: %s: %s", type(e).__name__, e)
            else:
                log.exception("worker pass failed")
            arrivals.wait(POLL_SECONDS)
    isolated.stop_all()
    ctx.engine.dispose()


def _announce(conn: Connection, arrivals: Arrivals) -> None:
    while True:
        try:
            conn.recv()
        except (EOFError, OSError):  # serve stops, or died
            arrivals.close()
            return
        arrivals.announce()


if __name__ == "__main__":
    _child(int(sys.argv[1]))
