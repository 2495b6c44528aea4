"""Reading a stored message (parse, signatures, rules) happens in a child process with a CPU limit.

A parser or pattern that goes quadratic on a hostile mail holds the GIL while it runs: in `serve`
one blank mail of 48,000 dashes stopped SMTP and the link pages for 80 s. In a child it stops nothing
else, and past `[mail] read_cpu_seconds` of CPU spent on that one message the kernel ends it (a
profiling timer, SIGPROF): the message fails with that reason and the next one gets a fresh child.
A child that dies any other way (the OOM killer, a crash in C code) raises ReaderDied: the worker
reads the message again in a fresh child before it sets it aside (pipeline/claim.py, strikes). A
child is `python -P -m mailgate.pipeline.isolated` on the parent's mailgate (mailgate/children.py),
kept between messages, and exits when its parent closes the socket.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import signal
import sys
import threading
import traceback
from collections import Counter
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from mailgate import children
from mailgate.authn import find_originals
from mailgate.config import Config
from mailgate.mail.parse import parse
from mailgate.rules.engine import RuleSet, decide
from mailgate.rules.intent import Intent

if TYPE_CHECKING:  # the child never needs it: the database layer is most of a reader's start-up
    from mailgate.context import Context

# Wall time a read may take beyond its CPU limit: DKIM keys come from DNS (seconds each), and on a
# busy machine a child gets a fraction of a CPU.
_WALL_FACTOR, _WALL_EXTRA = 4, 60


class Unreadable(Exception):
    """Reading this message was stopped: it took too long, or the reader died on it."""


class ReaderDied(Unreadable):
    """The reader died reading this message, and not by its CPU limit."""


class ChildTraceback(Exception):
    """The traceback of an error raised while reading, in the child."""


Setup = tuple[RuleSet, Config, dict[str, str] | None]


def _read(setup: Setup, raw: bytes, rcpt: str, mail_from: str | None) -> Intent:
    rules, cfg, dns = setup
    mail = parse(raw)
    return decide(rules, mail, rcpt, mail_from, cfg, lambda: find_originals(raw, dns, mail))


def _limit_cpu(seconds: int) -> None:
    """Allow the read that starts now `seconds` of CPU, counted from now.

    ITIMER_PROF counts this process's CPU (user and system) from the moment it is set, and its
    SIGPROF ends the process: the bound is the message's own, however much the reader spent before.
    A reader whose timer never fires (SIGPROF blocked) is stopped by the parent's wall-clock bound.
    RLIMIT_CPU is not used: it is checked against the kernel's tick-sampled CPU clock, while a limit
    can only be set from getrusage's precise one, and the two drift apart over a long-lived reader's
    thousands of short reads (11 % in 20 s of 1 ms bursts here). The 10,000-mail fuzz run had
    readers killed 50 ms into a 72 kB mail, after some 2,000 mails, with a margin of 3 s."""
    signal.setitimer(signal.ITIMER_PROF, seconds)


def _child(fd: int) -> None:
    conn = Connection(fd)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a read's crash must not leave a core file
    # Ctrl-C and a service manager's SIGTERM are for the parent, which finishes the read under way
    # and closes the socket: that ends us. Dying first would fail a good message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    setup: Setup | None = None
    while True:
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if kind == "setup":
            setup = payload
            continue
        raw, rcpt, mail_from, seconds = payload
        assert setup is not None
        _limit_cpu(seconds)
        reply: tuple[str, Any]
        try:
            reply = ("intent", _read(setup, raw, rcpt, mail_from))
        except Exception as e:
            error: Any = e
            try:
                pickle.dumps(e)
            except Exception:
                error = RuntimeError(f"{type(e).__name__}: {e}")
            reply = ("error", (error, traceback.format_exc()))
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)  # what is left of it is not the next read's
        try:
            conn.send(reply)
        except OSError:  # the parent is gone
            return


class Reader:
    """One child process and the pipe to it; started on first use and again after it was ended."""

    def __init__(self) -> None:
        self.process: Any = None
        self.conn: Connection | None = None
        self.setup: Setup | None = None

    def _start(self) -> Connection:
        if self.conn is None or self.process is None or self.process.poll() is not None:
            self.stop()
            self.process, self.conn = children.start(__name__)
        return self.conn

    def stop(self) -> None:
        children.stop(self.process, self.conn)
        self.process = self.conn = self.setup = None

    def prepare(self, setup: Setup) -> None:
        """Started and given the setup now, before a message waits for it."""
        self._start().send(("setup", setup))
        self.setup = setup

    def _ask(self, setup: Setup, request: tuple[Any, ...]) -> Connection:
        conn = self._start()
        if self.setup is None or any(a is not b for a, b in zip(self.setup, setup, strict=True)):
            conn.send(("setup", setup))
            self.setup = setup  # kept: the objects' identities say when the context changed
        conn.send(("read", request))
        return conn

    def read(self, setup: Setup, raw: bytes, rcpt: str, mail_from: str | None, seconds: int) -> Intent:
        request = (raw, rcpt, mail_from, seconds)
        try:
            conn = self._ask(setup, request)
        except OSError:  # the idle child was ended meanwhile: a fresh one
            self.stop()
            conn = self._ask(setup, request)
        wall = seconds * _WALL_FACTOR + _WALL_EXTRA
        if not conn.poll(wall):
            self.stop()
            raise Unreadable(f"reading it took more than {wall} s; stopped")
        try:
            kind, value = conn.recv()
        except (EOFError, OSError):  # it died
            process = self.process
            self.stop()
            code = process.returncode if process is not None else None
            if code in (-signal.SIGPROF, -signal.SIGXCPU):
                raise Unreadable(f"reading it used more than {seconds} s of CPU; stopped") from None
            raise ReaderDied(f"the reader died reading it ({_death(code)})") from None
        with _lock:
            reads_by_pid[self.process.pid] += 1
        if kind == "error":
            error, text = value
            raise error from ChildTraceback(text)
        return value


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


_idle: list[Reader] = []
_lock = threading.Lock()
# Messages read, per reader process, since this process started: how the work was spread.
reads_by_pid: Counter[int] = Counter()


def pool_size() -> int:
    """Readers a worker keeps busy at once: one per core it may run on (reading is CPU work)."""
    return max(1, len(os.sched_getaffinity(0)))


@contextlib.contextmanager
def _reader() -> Iterator[Reader]:
    """A reader of this process's pool: one per thread reading at the same time."""
    with _lock:
        reader = _idle.pop() if _idle else Reader()
    try:
        yield reader
    finally:
        with _lock:
            _idle.append(reader)


def read(ctx: Context, raw: bytes, rcpt: str, mail_from: str | None) -> Intent:
    """The Intent for a stored message, worked out in a child process; raises Unreadable when that
    takes more than `[mail] read_cpu_seconds` of CPU, ReaderDied when the child dies otherwise."""
    with _reader() as reader:
        return reader.read((ctx.rules, ctx.cfg, ctx.dns), raw, rcpt, mail_from, ctx.cfg.mail.read_cpu_seconds)


def start_readers(ctx: Context) -> list[int]:
    """The pool's readers started ahead of the first message (serve, at start): a child's start (an
    interpreter, mailgate's imports, the rules and config sent over) took the first messages' time
    after every start, a second and more on a busy machine. Returns the new readers' pids."""
    setup = (ctx.rules, ctx.cfg, ctx.dns)
    with _lock:
        missing = pool_size() - len(_idle)
    readers = [Reader() for _ in range(missing)]
    for reader in readers:
        reader.prepare(setup)
    with _lock:
        _idle.extend(readers)
    return [reader.process.pid for reader in readers]


def stop_all() -> None:
    """End the idle readers (serve does at shutdown; a reader also exits when its parent does)."""
    with _lock:
        readers, _idle[:] = list(_idle), []
    for reader in readers:
        reader.stop()


if __name__ == "__main__":
    _child(int(sys.argv[1]))
