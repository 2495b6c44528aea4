"""The intake's writer in a process of its own. Storing a batch (headers parsed, bytes hashed, rows
committed) was a third of SMTP intake's CPU and ran under serve's one GIL beside the event loop that
speaks SMTP; in a child it uses the other core and the loop only sends and receives.

Each message goes to the child as soon as its DATA ends, and the child reads its headers and hashes it
while the batch before it commits (its fsync lets go of the GIL): the batch then only names the
messages it holds, and its transaction does not wait for that work. The loop writes to and reads from
the child's socket itself (an asyncio transport), without a thread to hand each batch over and back.

Durability is unchanged: the child answers once the batch's transaction has committed, and only then
do the clients get 250. A child that dies fails its batch (451 to each client, which retries; a batch
it had committed is found again by its dedupe keys) and the next batch starts a new one, sending it
again the messages the dead one had been sent ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import pickle
import socket
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from subprocess import Popen
from typing import Any

from sqlalchemy.engine import Engine

from mailgate import children, db
from mailgate.inbound.store import Arrival, Stored

START_SECONDS = 60  # an interpreter and mailgate's imports, on a busy machine
CLOSE_SECONDS = 60  # how long closing waits for the batch being stored


class WriterFailed(OSError):
    """The writer could not store a batch; errno says whose fault, as faults.py reads it."""


def _frame(message: object) -> bytes:
    """As multiprocessing's Connection.send frames it, for the child's Connection.recv."""
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    size = struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else struct.pack("!iQ", -1, len(data))
    return size + data


class _Link(asyncio.Protocol):
    """One child's socket on the event loop: messages sent ahead, batches asked for, answers read."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.answer: asyncio.Future[Any] | None = None
        self.asked = 0  # numbers the batches: an answer is taken only for the batch waiting for it
        self.lost = False
        self.sent = 0  # numbers the messages sent ahead, in the order the child reads them

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += data
        while len(self.received) >= 4:
            (size,) = struct.unpack_from("!i", self.received)  # answers are small: never the long form
            if len(self.received) < 4 + size:
                return
            asked, answer = pickle.loads(self.received[4 : 4 + size])
            del self.received[: 4 + size]
            if asked == self.asked and self.answer is not None and not self.answer.done():
                self.answer.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(EOFError(str(exc or "the intake writer closed its socket")))

    def send(self, message: object) -> None:
        assert self.transport is not None
        self.transport.write(_frame(message))

    def parse(self, arrival: Arrival) -> Ahead:
        """Sent for the child to read now, and to store with the batch that names its number."""
        self.sent += 1
        self.send(("parse", self.sent, arrival))
        return Ahead(self, self.sent)

    async def ask(self, seqs: list[int]) -> Any:
        """The child's answer once it has stored (and committed) the messages sent under seqs."""
        if self.lost:  # before this batch was asked for: no answer will come
            raise EOFError("the intake writer closed its socket")
        self.asked += 1
        self.answer = asyncio.get_running_loop().create_future()
        self.send(("store", self.asked, seqs))
        return await self.answer


@dataclass(frozen=True)
class Ahead:
    """A message sent ahead: to which child, under which number."""

    link: _Link
    seq: int


class Writer:
    """The child that stores intake's batches: one batch at a time, from GroupCommit's one task."""

    def __init__(self, engine: Engine, spool_dir: Path) -> None:
        self.engine, self.spool_dir = engine, spool_dir
        self.process: Popen[bytes] | None = None
        self.commits = 0  # transactions the child committed, counted by the database driver there
        self.sent_ahead = 0  # messages sent to a child as they arrived, before their batch began
        self._started: Connection | None = None  # the child's socket, until the loop takes it
        self._link: _Link | None = None
        self._lock = threading.Lock()
        self._idle = threading.Event()  # no batch being stored
        self._idle.set()
        self._closed = False

    def start(self) -> None:
        """The child started and ready (its imports done, not left to the first batch's clients);
        blocks, so not on the event loop. A child that never answers (a broken install) fails the
        batch instead of holding intake for good."""
        with self._lock:
            linked = self._link is not None and not self._link.lost
            if self.process is not None and self.process.poll() is None and (linked or self._started):
                return
            self._stop_locked()
            self.process, conn = children.start("mailgate.inbound.writer_child")
            conn.send((self.engine.url.render_as_string(hide_password=False), str(self.spool_dir)))
            if not conn.poll(START_SECONDS):
                raise OSError(errno.ETIMEDOUT, f"the intake writer did not start in {START_SECONDS} s")
            conn.recv()
            self._started = conn

    def warm(self) -> None:
        """Started ahead of the first message; a failure here is the first batch's to report."""
        with contextlib.suppress(EOFError, OSError):
            self.start()

    def ahead(self, arrival: Arrival) -> Ahead | None:
        """Sent to the child as it arrives, to be read before its batch; None when there is no child
        on the loop yet (its batch sends it)."""
        link = self._link
        if link is None or link.lost:
            return None
        self.sent_ahead += 1
        return link.parse(arrival)

    async def store_many(self, arrivals: Sequence[tuple[Arrival, Ahead | None]]) -> list[Stored]:
        self._idle.clear()
        try:
            if self._closed:
                raise WriterFailed(errno.ESHUTDOWN, "intake is closing")
            try:
                link = await self._linked()
                seqs = []
                for arrival, ahead in arrivals:
                    if ahead is None or ahead.link is not link:  # not sent to this child yet
                        ahead = link.parse(arrival)
                    seqs.append(ahead.seq)
                try:
                    async with db.turn_on_behalf_async(self.engine):  # the worker's next batch waits
                        kind, value, commits = await link.ask(seqs)
                except BaseException:
                    if not link.lost:
                        link.send(("forget", 0, seqs))  # not stored: the child drops what it read
                    raise
            except (EOFError, OSError) as e:  # it died: this batch fails, the next one starts another
                if isinstance(e, WriterFailed):
                    raise
                self.stop()
                raise WriterFailed(errno.EIO, f"the intake writer died: {e or type(e).__name__}") from None
            self.commits += commits
            if kind == "error":
                code, text = value
                raise WriterFailed(code, text)
            return list(value)
        finally:
            self._idle.set()

    async def _linked(self) -> _Link:
        """The live child's link, a new child started (in a thread) and linked when there is none."""
        if self._link is not None and not self._link.lost:
            return self._link
        self._link = None
        await asyncio.to_thread(self.start)
        with self._lock:
            conn, self._started = self._started, None
        if conn is None:
            raise WriterFailed(errno.EIO, "the intake writer was stopped as it started")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=os.dup(conn.fileno()))
        conn.close()
        _, self._link = await asyncio.get_running_loop().connect_accepted_socket(_Link, sock)
        return self._link

    def close(self) -> None:
        """The batch being stored ends, no other begins, then the child goes. From another thread
        than the event loop's, which goes on running meanwhile."""
        self._closed = True
        self._idle.wait(CLOSE_SECONDS)
        self.stop(grace=10)

    def stop(self, grace: float = 0) -> None:
        with self._lock:
            self._stop_locked(grace)

    def _stop_locked(self, grace: float = 0) -> None:
        link, self._link = self._link, None
        if link is not None and link.transport is not None and not link.lost:
            # Any thread: the child reads the end of its input and exits; the loop closes our end.
            sock = link.transport.get_extra_info("socket")
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        children.stop(self.process, self._started, grace)
        self.process = self._started = None
