"""A burst is read by several reader processes at once and recorded in batches, one transaction for
many messages: a message that raises while being recorded is rolled back and failed alone, and one
the database refuses sends the batch back to be recorded one message at a time. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from mailgate import leases
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.models import Customer, Message, Outbox
from mailgate.pipeline import batch, claim, dispatch, isolated
from mailgate.pipeline.outcome import Outcome
from mailgate.pipeline.worker import decide, process_pending, work
from mailgate.rules.intent import Intent
from tests.test_pipeline import get

BAD = "bad@example.jp"


def blank(ctx: Context, addr: str, n: int) -> int:
    raw = f"From: {addr}\r\nTo: signup@shop.example\r\nMessage-ID: <b{n}@example.jp>\r\n\r\n".encode()
    [mid] = store(ctx.engine, ctx.cfg.spool_dir, raw, ["signup@shop.example"], mail_from=None, via="file").ids
    return mid


def register_then(error: Exception) -> dispatch.Handler:
    """The real registration, then a failure for BAD's mail only, after its writes were made."""
    real = dispatch.HANDLERS["register"]

    def run(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
        outcome = real(session, ctx, message, intent, now)
        if message.from_addr == BAD:
            raise error
        return outcome

    return run


def test_a_burst_is_read_by_several_reader_processes(
    db_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolated, "pool_size", lambda: 3)  # whatever this machine's cores
    isolated.stop_all()
    isolated.reads_by_pid.clear()
    for n in range(24):
        blank(db_ctx, f"c{n}@example.jp", n)
    assert process_pending(db_ctx) == 24
    assert sum(isolated.reads_by_pid.values()) == 24
    assert len(isolated.reads_by_pid) >= 2, isolated.reads_by_pid
    assert {m.state for m in get(db_ctx, Message)} == {"applied"}
    assert len(get(db_ctx, Outbox)) == 24


def test_a_message_failing_in_a_batch_leaves_the_others_applied(
    db_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(dispatch.HANDLERS, "register", register_then(ValueError("broken mail")))
    good = [blank(db_ctx, f"g{n}@example.jp", n) for n in range(2)]
    bad = blank(db_ctx, BAD, 9)
    good.append(blank(db_ctx, "g3@example.jp", 3))
    owner = leases.owner_name("worker")
    taken = claim.take_next(db_ctx.engine, owner, limit=10)
    assert sorted(taken) == sorted([*good, bad])
    result = batch.record(db_ctx, owner, {mid: decide(db_ctx, mid) for mid in taken}, seconds=3600)
    assert sorted(result.recorded) == sorted(good)
    assert list(result.failed) == [bad] and result.alone == []
    assert "broken mail" in str(result.failed[bad][0])
    # The failed message's own writes went with its savepoint; the others' stayed.
    assert [c.email for c in get(db_ctx, Customer, email=BAD)] == []
    assert len(get(db_ctx, Outbox)) == 3
    states = {m.id: m.state for m in get(db_ctx, Message)}
    assert [states[mid] for mid in good] == ["applied"] * 3
    assert states[bad] == "processing"  # still ours: the worker fails it next


def test_a_batch_with_no_failing_message_sets_no_savepoints_on_sqlite(db_ctx: Context) -> None:
    """A savepoint per message cost a tenth of the recording; on SQLite a batch goes without them
    and is done again with them only when one raises (the test above). PostgreSQL keeps them: a
    message left for another node's lock rolls back alone."""
    savepoints: list[str] = []

    def seen(_conn, _cursor, statement: str, *_: object) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("SAVEPOINT"):
            savepoints.append(statement)

    ids = [blank(db_ctx, f"s{n}@example.jp", n) for n in range(5)]
    owner = leases.owner_name("worker")
    taken = claim.take_next(db_ctx.engine, owner, limit=10)
    event.listen(db_ctx.engine, "before_cursor_execute", seen)
    result = batch.record(db_ctx, owner, {mid: decide(db_ctx, mid) for mid in taken}, seconds=3600)
    event.remove(db_ctx.engine, "before_cursor_execute", seen)
    assert sorted(result.recorded) == ids
    assert len(savepoints) == (5 if db_ctx.engine.dialect.name == "postgresql" else 0)


def test_the_worker_fails_the_broken_message_of_a_batch_alone(
    db_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(dispatch.HANDLERS, "register", register_then(ValueError("broken mail")))
    ids = [blank(db_ctx, addr, n) for n, addr in enumerate(["a@example.jp", BAD, "b@example.jp"])]
    assert process_pending(db_ctx) == 3
    by_id = {m.id: m for m in get(db_ctx, Message)}
    assert [by_id[mid].state for mid in ids] == ["applied", "failed", "applied"]
    assert "ValueError: broken mail" in by_id[ids[1]].reason
    assert "in run\n    raise error" in (by_id[ids[1]].traceback or "")  # where it was raised
    assert sorted(o.to_addr for o in get(db_ctx, Outbox)) == ["a@example.jp", "b@example.jp"]


def test_a_batch_the_database_refuses_is_recorded_one_message_at_a_time(
    db_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusal = OperationalError("INSERT", {}, Exception("database is locked"))
    monkeypatch.setitem(dispatch.HANDLERS, "register", register_then(refusal))
    ids = [blank(db_ctx, addr, n) for n, addr in enumerate(["a@example.jp", BAD, "b@example.jp"])]
    owner = leases.owner_name("worker")
    taken = claim.take_next(db_ctx.engine, owner, limit=10)
    result = batch.record(db_ctx, owner, {mid: decide(db_ctx, mid) for mid in taken}, seconds=3600)
    assert (result.recorded, result.failed, sorted(result.alone)) == ({}, {}, sorted(ids))
    assert get(db_ctx, Outbox) == []  # nothing of the batch was kept
    states = [work(db_ctx, mid, owner) for mid in sorted(ids)]
    # An error of our own: no strike, tried again later; the others applied on their own.
    assert states == ["applied", "received", "applied"]
    bad = next(m for m in get(db_ctx, Message) if m.id == ids[1])
    assert (bad.strikes, bad.retry_at is not None) == (0, True)


def test_claims_a_stopped_pass_did_not_record_go_back_without_a_strike(db_ctx: Context) -> None:
    ids = [blank(db_ctx, f"s{n}@example.jp", n) for n in range(3)]
    ours, theirs = leases.owner_name("worker"), "worker@elsewhere/1/x"
    assert claim.take_one(db_ctx.engine, ids[2], theirs)
    assert claim.take_next(db_ctx.engine, ours, limit=10) == ids[:2]
    assert claim.give_back(db_ctx.engine, ids, ours) == 2
    by_id = {m.id: m for m in get(db_ctx, Message)}
    assert [(by_id[i].state, by_id[i].strikes, by_id[i].claimed_by) for i in ids] == [
        ("received", 0, None),
        ("received", 0, None),
        ("processing", 0, theirs),  # not ours to give
    ]
    assert claim.take_next(db_ctx.engine, ours, limit=10) == ids[:2]  # ready again at once


def test_a_batch_out_of_time_records_its_first_message_and_leaves_the_rest(db_ctx: Context) -> None:
    ids = [blank(db_ctx, f"t{n}@example.jp", n) for n in range(3)]
    owner = leases.owner_name("worker")
    taken = claim.take_next(db_ctx.engine, owner, limit=10)
    result = batch.record(db_ctx, owner, {mid: decide(db_ctx, mid) for mid in taken}, seconds=0)
    assert (list(result.recorded), result.left) == (ids[:1], ids[1:])
    states = {m.id: m.state for m in get(db_ctx, Message)}
    assert [states[mid] for mid in ids] == ["applied", "processing", "processing"]  # still ours


def test_small_messages_bytes_are_read_with_their_rows_and_a_large_ones_by_its_reader(
    db_ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claim, "READ_TOGETHER_BYTES", 1000)
    small = [blank(db_ctx, f"s{n}@example.jp", n) for n in range(3)]
    raw = f"From: l@example.jp\r\nTo: signup@shop.example\r\nX-Padding: {'x' * 1200}\r\n\r\n".encode()
    [large] = store(
        db_ctx.engine, db_ctx.cfg.spool_dir, raw, ["signup@shop.example"], mail_from=None, via="file"
    ).ids
    reads: list[str] = []

    def counted(conn, cursor, statement: str, *_: object) -> None:  # type: ignore[no-untyped-def]
        if "FROM rawmessage" in statement:
            reads.append(statement)

    event.listen(db_ctx.engine, "before_cursor_execute", counted)
    try:
        assert process_pending(db_ctx) == 4
    finally:
        event.remove(db_ctx.engine, "before_cursor_execute", counted)
    by_id = {m.id: m for m in get(db_ctx, Message)}
    assert [by_id[i].state for i in [*small, large]] == ["applied"] * 4
    assert len(get(db_ctx, Outbox)) == 4
    together = [r for r in reads if " IN " in r]
    assert len(together) == 1 and len(reads) == 2  # the three small ones at once, the large one alone
