"""A worker pass in serve waits for intake's next message and claims it as soon as it is announced,
instead of ending and leaving it to a new pass (which reaped, and started threads, every time)."""

from __future__ import annotations

import threading

from sqlmodel import Session

from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.models import Message
from mailgate.pipeline.arrivals import Arrivals
from mailgate.pipeline.worker import process_pending
from tests.waiting import until


def _signup(ctx: Context, n: int) -> int:
    raw = f"From: w{n}@example.jp\r\nTo: signup@shop.example\r\nSubject: \r\n"
    raw += f"Message-ID: <w{n}@example.jp>\r\n\r\n"
    stored = store(
        ctx.engine, ctx.cfg.spool_dir, raw.encode(), ["signup@shop.example"], mail_from=None, via="smtp"
    )
    [message_id] = stored.ids
    return message_id


def test_an_announcement_made_before_the_wait_is_not_lost() -> None:
    arrivals = Arrivals()
    arrivals.announce()
    arrivals.announce()
    assert arrivals.wait(0) is True  # both taken by one wake-up
    assert arrivals.wait(0) is False
    arrivals.close()
    arrivals.announce()
    assert arrivals.wait(30) is False  # closed: a stopping serve does not wait


def test_a_waiting_pass_claims_what_is_stored_meanwhile(db_ctx: Context) -> None:
    arrivals = Arrivals()
    batches: list[int] = []
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(
            process_pending(db_ctx, arrivals=arrivals, linger=60, on_recorded=batches.append)
        )
    )
    worker.start()
    try:
        until(lambda: arrivals.waiting == 1, "the pass waits for mail")
        ids = [_signup(db_ctx, 1), _signup(db_ctx, 2)]
        arrivals.announce()
        until(lambda: sum(batches) == 2, "both recorded")
        until(lambda: arrivals.waiting == 1, "the pass waits again")
        third = _signup(db_ctx, 3)
        arrivals.announce()
        until(lambda: sum(batches) == 3, "the third recorded")
    finally:
        arrivals.close()
        worker.join(60)
    assert not worker.is_alive()
    assert result == [3]  # one pass moved all three on: none was left for a new pass
    assert arrivals.woken == 2
    with Session(db_ctx.engine) as s:
        states = [s.get(Message, mid).state for mid in [*ids, third]]  # type: ignore[union-attr]
    assert states == ["applied"] * 3
