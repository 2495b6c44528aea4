"""On SQLite a worker's batch gives way to the writers of its process waiting for the write lock
(intake's batch, whose clients wait for their 250): once it has held the lock for batch.YIELD_AFTER,
it commits what it has recorded and leaves the rest for its next batch. SQLite only: PostgreSQL
writers don't queue for one lock."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from mailgate import config, db, leases, sqlite_turns
from mailgate.context import Context
from mailgate.models import Message
from mailgate.pipeline import batch, claim
from mailgate.pipeline.worker import decide
from tests.conftest import write_config
from tests.pipeline.test_batch_accounting import blank
from tests.test_pipeline import get
from tests.waiting import until


def test_a_batch_with_intake_waiting_records_one_message_and_leaves_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "YIELD_AFTER", 0)  # it gives way at once, not after 50 ms of recording
    ctx = Context.build(config.load(write_config(tmp_path / "shop")))
    ids = [blank(ctx, f"y{n}@example.jp") for n in range(3)]
    owner = leases.owner_name("worker")
    assert sorted(claim.take_next(ctx.engine, owner, limit=10)) == ids
    intents = {mid: decide(ctx, mid) for mid in ids}
    turns = sqlite_turns.turns_for(str(ctx.engine.url.database))
    assert turns is not None
    results: list[batch.Batch] = []
    intake_done = threading.Event()

    def intake() -> None:
        with db.transaction(ctx.engine) as s:
            s.exec(text("SELECT 1"))  # type: ignore[call-overload]
        intake_done.set()

    with db.turn_on_behalf(ctx.engine):  # an intake batch being written: the worker's batch queues
        worker = threading.Thread(target=lambda: results.append(batch.record(ctx, owner, intents, 3600)))
        worker.start()
        until(lambda: turns.waiting == 1, "the worker's batch waits for the turn")
        threading.Thread(target=intake).start()  # and intake's next batch behind it
        until(lambda: turns.waiting == 2, "intake waits behind it")
    worker.join(60)
    assert intake_done.wait(60)
    [result] = results
    assert (list(result.recorded), result.left) == (ids[:1], ids[1:])
    assert [m.state for m in sorted(get(ctx, Message), key=lambda m: m.id or 0)] == [
        "applied",
        "processing",
        "processing",
    ]
