"""Group commit for SMTP intake: messages that arrive while a batch is being stored wait, then go
together in the next one (their files fsynced at once, their rows in one transaction). Each client's
250 waits for the commit that covers its message; a batch that fails fails every message in it.

One batch at a time, stored by the writer process (inbound/writer.py): it never holds more than one
transaction, and SQLite has one writer anyway. While it works the event loop goes on reading the next
messages, and sends each to the writer as it arrives, to be read before its batch begins.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from mailgate.inbound.store import Arrival, Stored
from mailgate.inbound.writer import Ahead, Writer

MAX_BATCH = 500  # messages in one transaction: bounds a batch's time and what a failure refuses


@dataclass
class Counts:
    """What the writer did, for tests and benchmarks: commits counted, whatever the timing."""

    batches: int = 0  # batches stored (each one transaction)
    messages: int = 0  # messages in them
    failed: int = 0  # batches that failed (every message in them answered with a temporary error)
    largest: int = 0  # messages in the largest batch

    def add(self, size: int) -> None:
        self.batches += 1
        self.messages += size
        self.largest = max(self.largest, size)


class GroupCommit:
    def __init__(self, engine: Engine, spool_dir: Path, max_batch: int = MAX_BATCH) -> None:
        self.writer = Writer(engine, spool_dir)
        self.max_batch = max_batch
        self.counts = Counts()
        self._waiting: list[tuple[Arrival, Ahead | None, asyncio.Future[Stored]]] = []
        self.storing = 0  # messages in the batch being stored
        self._writer: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Messages waiting for the next batch (the one being stored not counted)."""
        return len(self._waiting)

    async def store(self, arrival: Arrival) -> Stored:
        """Stored once its batch has committed; raises what made the batch fail."""
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append((arrival, self.writer.ahead(arrival), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        # A client that hangs up meanwhile cancels its wait, not the batch its message is in.
        return await future

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            self.storing = len(batch)
            try:
                results = await self.writer.store_many([(a, ahead) for a, ahead, _ in batch])
            except Exception as e:  # our own failure: every message in the batch is refused for now
                self.counts.failed += 1
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            finally:
                self.storing = 0
            self.counts.add(len(batch))
            for (_, _, future), stored in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(stored)

    def close(self) -> None:
        """After the SMTP server closed, from another thread while the event loop runs: the batch
        being stored ends, no other begins."""
        self.writer.close()
