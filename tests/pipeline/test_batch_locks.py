"""Two nodes' batches that book the same shop days must not wait for each other's day locks in
opposite orders (PostgreSQL found such deadlocks in bench_nodes and refused whole batches). A
batch's first message takes its locks as any transaction does; a later one never waits for a lock
below one the batch already holds: it is left for the next batch, where it comes first. Only
PostgreSQL has the advisory locks; SQLite lets one writer in at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlmodel import Session

from mailgate import config, db, leases
from mailgate.context import Context
from mailgate.models import Booking, Message
from mailgate.pipeline import batch, claim
from mailgate.pipeline.worker import decide
from tests.conftest import write_config
from tests.e2e.cluster import SHOP
from tests.pipeline.test_batch_accounting import DNS, notice
from tests.test_pipeline import get


@pytest.fixture
def ctx(tmp_path: Path, pg_db_url: str) -> Context:
    return Context.build(config.load(write_config(tmp_path / "shop", DNS, db_url=pg_db_url, shop=SHOP)))


def day_key(day: date) -> int:
    return db.lock_number(f"clash:{day}")


def two_days_locked_downwards() -> tuple[date, date]:
    """Two shop days whose day locks sort the other way round from the days."""
    first = date(2027, 1, 5)
    second = next(
        first + timedelta(days=n) for n in range(1, 60) if day_key(first + timedelta(days=n)) < day_key(first)
    )
    return first, second


@pytest.fixture
def elsewhere(ctx: Context) -> Iterator[Session]:
    """Another node's transaction, open for the test to take locks in."""
    with db.transaction(ctx.engine) as s:
        yield s


def at(day: date) -> datetime:
    return datetime.fromisoformat(f"{day}T13:00+09:00")


def recorded_in_a_thread(ctx: Context, owner: str, mids: list[int]) -> batch.Batch:
    intents = {mid: decide(ctx, mid) for mid in mids}
    results: list[batch.Batch] = []
    t = threading.Thread(target=lambda: results.append(batch.record(ctx, owner, intents, seconds=3600)))
    t.start()
    t.join(60)  # a hang guard: a batch waiting for the other transaction's lock would stay here
    assert results, "the batch waited for a lock below one it held"
    return results[0]


def test_a_later_message_needing_a_lower_day_lock_held_elsewhere_is_left_for_the_next_batch(
    ctx: Context, elsewhere: Session
) -> None:
    first_day, second_day = two_days_locked_downwards()
    first = notice(ctx, "RL1", at(first_day), "090-2222-0001")
    second = notice(ctx, "RL2", at(second_day), "090-2222-0002")
    owner = leases.owner_name("worker")
    assert sorted(claim.take_next(ctx.engine, owner, limit=10)) == [first, second]
    db.serialize(elsewhere, f"clash:{second_day}")
    try:
        result = recorded_in_a_thread(ctx, owner, [first, second])
    finally:
        elsewhere.rollback()
    assert (list(result.recorded), result.left, result.alone) == ([first], [second], [])
    states = {m.id: m.state for m in get(ctx, Message)}
    assert (states[first], states[second]) == ("applied", "processing")
    assert [b.external_id for b in get(ctx, Booking)] == ["RL1"], "nothing of the one left was kept"
    again = recorded_in_a_thread(ctx, owner, [second])  # first in its batch: it takes its locks
    assert (list(again.recorded), again.left) == ([second], [])
    assert sorted(b.external_id for b in get(ctx, Booking)) == ["RL1", "RL2"]


def test_a_lower_lock_that_is_free_is_taken_by_a_later_message(ctx: Context) -> None:
    first_day, second_day = two_days_locked_downwards()
    first = notice(ctx, "RF1", at(first_day), "090-3333-0001")
    second = notice(ctx, "RF2", at(second_day), "090-3333-0002")
    owner = leases.owner_name("worker")
    claim.take_next(ctx.engine, owner, limit=10)
    result = recorded_in_a_thread(ctx, owner, [first, second])
    assert (sorted(result.recorded), result.left) == ([first, second], [])


def test_in_order_a_lock_below_one_held_is_tried_not_waited_for(ctx: Context, elsewhere: Session) -> None:
    low, high = sorted(["clash:2027-01-05", "clash:2027-01-06"], key=db.lock_number)
    db.serialize(elsewhere, low)
    with db.transaction(ctx.engine) as s:
        db.serialize(s, high)
        with db.locks_in_order(s), pytest.raises(db.OutOfOrder):
            db.serialize(s, low)
        mine = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        held = s.exec(text(mine))  # type: ignore[call-overload]
        assert held.one()[0] == 1, "only its own lock is held; the one below was not queued for"
    elsewhere.rollback()


def test_a_booking_notice_takes_its_customers_and_its_days_locks_in_ascending_order(ctx: Context) -> None:
    """Taken one after the other (the customer's, then a day's below it), two nodes' notices waited
    for each other: PostgreSQL found the deadlock and the batch went one message at a time (seen in
    bench_nodes, a customer's name lock against a day lock)."""
    email_key = db.lock_number("customer:email:nro1@example.jp")
    day = next(
        date(2027, 1, 5) + timedelta(days=n)
        for n in range(60)
        if day_key(date(2027, 1, 5) + timedelta(days=n)) < email_key
    )
    mid = notice(ctx, "RO1", at(day), "090-4444-0001")
    taken: list[int] = []

    def seen(_conn, _cursor, statement: str, params: object, *_: object) -> None:  # type: ignore[no-untyped-def]
        if "advisory_xact_lock" in statement and isinstance(params, dict) and params["k"] not in taken:
            taken.append(params["k"])

    owner = leases.owner_name("worker")
    claim.take_next(ctx.engine, owner, limit=10)
    event.listen(ctx.engine, "before_cursor_execute", seen)
    try:
        result = batch.record(ctx, owner, {mid: decide(ctx, mid)}, seconds=3600)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", seen)
    assert list(result.recorded) == [mid]
    assert {email_key, day_key(day)} <= set(taken)
    assert taken == sorted(taken)
