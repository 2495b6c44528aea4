"""Claims on stored messages: one owner at a time, leases on the database clock, renewed while a long
message is worked on, and a worker that lost its claim records nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import event
from sqlmodel import Session, create_engine, select

from mailgate import config, leases
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.models import Message, Outbox
from mailgate.pipeline import claim
from mailgate.pipeline.worker import process_pending, work
from tests.conftest import wait_for, write_config


def put(ctx: Context, n: int = 0) -> int:
    raw = f"From: c{n}@example.jp\r\nTo: signup@shop.example\r\nMessage-ID: <claim{n}@example.jp>\r\n\r\n"
    [mid] = store(
        ctx.engine, ctx.cfg.spool_dir, raw.encode(), ["signup@shop.example"], mail_from=None, via="smtp"
    ).ids
    return mid


def row(ctx: Context, mid: int) -> Message:
    with Session(ctx.engine) as s:
        found = s.get(Message, mid)
        assert found is not None
        return found


def lease_of(ctx: Context, mid: int) -> datetime:
    until = row(ctx, mid).lease_until
    assert until is not None
    return until


def test_a_message_is_taken_by_one_owner_only(db_ctx: Context) -> None:
    mid = put(db_ctx)
    assert claim.take_one(db_ctx.engine, mid, "worker@a/1/x")
    assert not claim.take_one(db_ctx.engine, mid, "worker@b/2/y")
    assert claim.take_next(db_ctx.engine, "worker@b/2/y") == []
    m = row(db_ctx, mid)
    assert (m.state, m.claimed_by, m.attempts) == ("processing", "worker@a/1/x", 1)


def test_a_long_message_keeps_its_lease_while_worked_on(db_ctx: Context) -> None:
    mid = put(db_ctx)
    owner, lease = "worker@elsewhere/1/x", timedelta(seconds=2)
    assert claim.take_one(db_ctx.engine, mid, owner, lease=lease)
    first = lease_of(db_ctx, mid)
    with leases.kept_alive(db_ctx.engine, Message, owner, claim.BUSY, lease):
        wait_for(lambda: lease_of(db_ctx, mid) > first)
        assert claim.reap(db_ctx.engine).set_aside == []
    m = row(db_ctx, mid)
    assert (m.state, m.claimed_by, m.strikes) == ("processing", owner, 0)


def test_a_worker_whose_claim_was_taken_over_records_nothing(db_ctx: Context) -> None:
    mid = put(db_ctx)
    assert claim.take_one(db_ctx.engine, mid, "worker@slow/1/x", lease=timedelta(0))
    claim.reap(db_ctx.engine)  # its lease ran out: the message is in line again
    assert claim.take_one(db_ctx.engine, mid, "worker@fast/2/y")
    assert work(db_ctx, mid, "worker@slow/1/x") is None
    with Session(db_ctx.engine) as s:
        assert list(s.exec(select(Outbox))) == []
    assert row(db_ctx, mid).state == "processing"
    assert work(db_ctx, mid, "worker@fast/2/y") == "applied"
    with Session(db_ctx.engine) as s:
        assert len(list(s.exec(select(Outbox)))) == 1
    m = row(db_ctx, mid)
    assert (m.state, m.claimed_by, m.lease_until, m.lost_leases) == ("applied", None, None, 1)


def test_a_dead_worker_on_this_host_is_recovered_without_waiting_for_its_lease(db_ctx: Context) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    owner = f"worker@{socket.gethostname()}/{dead.stdout.strip()}/abc"
    mid = put(db_ctx)
    assert claim.take_one(db_ctx.engine, mid, owner, lease=timedelta(hours=1))
    claim.reap(db_ctx.engine)
    m = row(db_ctx, mid)
    assert (m.state, m.claimed_by, m.lost_leases) == ("received", None, 1)


def test_an_error_of_our_own_is_retried_later_without_a_strike(db_ctx: Context) -> None:
    mid = put(db_ctx)
    assert claim.take_one(db_ctx.engine, mid, "worker@a/1/x")
    assert claim.retry_later(
        db_ctx.engine, mid, "worker@a/1/x", "OSError: [Errno 28] No space left on device"
    )
    m = row(db_ctx, mid)
    assert (m.state, m.strikes, m.claimed_by) == ("received", 0, None)
    assert m.retry_at is not None
    assert claim.take_next(db_ctx.engine, "worker@b/2/y") == []  # not before its retry time


def test_a_lease_renewal_passes_over_the_rows_its_own_batch_is_recording(
    tmp_path: Path, pg_db_url: str
) -> None:
    """The renewer beats while the worker's batch holds some of the owner's rows locked: it renews the
    others and waits for none (waiting, it deadlocked with the batch now and then: bench_nodes.py)."""
    ctx = Context.build(config.load(write_config(tmp_path, db_url=pg_db_url)))
    owner = "worker@elsewhere/1/x"
    a, b = put(ctx, 1), put(ctx, 2)
    assert claim.take_one(ctx.engine, a, owner) and claim.take_one(ctx.engine, b, owner)
    leased = {a: lease_of(ctx, a), b: lease_of(ctx, b)}
    # A renewal that waited for the batch's lock would fail here instead of blocking the test.
    impatient = create_engine(pg_db_url, connect_args={"options": "-c lock_timeout=5000"})
    with Session(ctx.engine) as batch:
        assert leases.hold(batch, Message, b, owner, claim.BUSY)  # b locked, as recording it does
        assert leases.renew(impatient, Message, owner, claim.BUSY, timedelta(minutes=5)) == 1
        assert leases.hold(batch, Message, a, owner, claim.BUSY)  # a is free again at once
        batch.commit()
    assert lease_of(ctx, a) > leased[a]
    assert lease_of(ctx, b) == leased[b]  # renewed at the next beat, or recorded meanwhile
    impatient.dispose()
    ctx.engine.dispose()


def test_after_a_worker_died_its_messages_are_taken_one_at_a_time_at_first(
    db_ctx: Context, tmp_path: Path
) -> None:
    """A worker died with six messages in work; the next one is killed as soon as it has taken one
    back: only that one lost its lease again, not the six (one of them may be what kills workers)."""
    ids = [put(db_ctx, n) for n in range(6)]
    assert claim.take_next(db_ctx.engine, "worker@dead/1/x", lease=timedelta(0), limit=6) == ids
    worker = subprocess.Popen(
        [sys.executable, "-m", "mailgate", "--config", str(tmp_path / "shop" / "mailgate.toml"), "process"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: any(row(db_ctx, m).claimed_by not in (None, "worker@dead/1/x") for m in ids), 120, 0.02
        )
    finally:
        worker.kill()
        worker.wait()
    claim.reap(db_ctx.engine)  # the killed worker was on this host: taken back at once
    assert sorted(row(db_ctx, m).lost_leases for m in ids) == [1, 1, 1, 1, 1, 2]
    process_pending(db_ctx)
    assert {row(db_ctx, m).state for m in ids} == {"applied"}


def test_taken_rows_come_back_from_the_claim_and_their_bytes_after_its_commit(db_ctx: Context) -> None:
    ids = [put(db_ctx, n) for n in range(3)]
    claim.take_one(db_ctx.engine, ids[1], "worker@other/1/x")  # not ready: someone else's
    statements: list[str] = []

    def seen(conn, cursor, statement: str, *_: object) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    def committed(conn) -> None:  # type: ignore[no-untyped-def]
        statements.append("COMMIT")

    event.listen(db_ctx.engine, "before_cursor_execute", seen)
    event.listen(db_ctx.engine, "commit", committed)
    try:
        taken, raws = claim.take_stored(db_ctx.engine, "worker@a/1/x", limit=5)
    finally:
        event.remove(db_ctx.engine, "before_cursor_execute", seen)
        event.remove(db_ctx.engine, "commit", committed)
    assert [m.id for m in taken] == [ids[0], ids[2]]
    assert {(m.state, m.claimed_by, m.attempts) for m in taken} == {("processing", "worker@a/1/x", 1)}
    assert all(m.lease_until is not None for m in taken)
    assert {p: raw.split(b"\r\n")[0] for p, raw in raws.items()} == {
        m.spool_path: f"From: c{n}@example.jp".encode() for m, n in zip(taken, (0, 2), strict=True)
    }
    # One claim, committed before one read of the bytes (not under the write lock); no read of the rows.
    claimed = next(n for n, s in enumerate(statements) if "UPDATE message SET" in s)
    [read] = [n for n, s in enumerate(statements) if "FROM rawmessage" in s]
    assert claimed < statements.index("COMMIT") < read and statements.count("COMMIT") == 1
    assert sum("UPDATE message SET" in s for s in statements) == 1
    assert not [s for s in statements if s.startswith("SELECT") and "FROM message" in s]
