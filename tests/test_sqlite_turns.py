"""The writers of one process take turns at an SQLite file in the order they asked, each commit or
rollback handing the turn to the next at once (instead of SQLite's busy handler polling for the
lock in steps of up to 100 ms); a redoable transaction (a claim) commits without an fsync. SQLite
only: PostgreSQL has row locks and no such queue."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from mailgate import config, db, sqlite_turns
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.outbound.sender import Sender
from mailgate.pipeline import claim
from mailgate.pipeline.worker import work
from tests.conftest import write_config
from tests.waiting import until


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE log (who TEXT)")
    return engine


def _turns(tmp_path: Path) -> sqlite_turns.Turns:
    turns = sqlite_turns.turns_for(str(tmp_path / "turns.db"))
    assert turns is not None
    return turns


def _write(engine: Engine, who: str, hold: threading.Event | None = None) -> None:
    with db.transaction(engine) as s:
        s.exec(text("INSERT INTO log VALUES (:who)").bindparams(who=who))  # type: ignore[call-overload]
        if hold is not None:
            hold.wait(60)


def _log(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("SELECT who FROM log ORDER BY rowid")]


def test_writers_waiting_for_the_lock_get_it_in_the_order_they_asked(engine: Engine, tmp_path: Path) -> None:
    turns = _turns(tmp_path)
    hold = threading.Event()
    first = threading.Thread(target=_write, args=(engine, "first", hold))
    first.start()
    until(lambda: _turns(tmp_path)._held, "the first writer has the turn")
    waiting = []
    for who in ("second", "third", "fourth"):
        thread = threading.Thread(target=_write, args=(engine, who))
        thread.start()
        waiting.append(thread)
        queued = len(waiting)
        until(lambda: turns.waiting == queued, f"{who} waits in line")  # noqa: B023 (waited for here)
    hold.set()
    for thread in (first, *waiting):
        thread.join(60)
    assert _log(engine) == ["first", "second", "third", "fourth"]
    assert turns.waited == 3


def test_a_rolled_back_transaction_gives_its_turn_back(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), db.transaction(engine) as s:
        s.exec(text("INSERT INTO log VALUES ('gone')"))  # type: ignore[call-overload]
        raise RuntimeError("the message raised")
    _write(engine, "next")  # the same thread: it would wait for itself if the turn were kept
    assert _log(engine) == ["next"]
    assert _turns(tmp_path).waited == 0


def test_reading_takes_no_turn_while_a_writer_holds_it(engine: Engine, tmp_path: Path) -> None:
    hold = threading.Event()
    writer = threading.Thread(target=_write, args=(engine, "writer", hold))
    writer.start()
    try:
        until(lambda: _turns(tmp_path)._held, "the writer has the turn")
        with db.transaction(db.reading(engine)) as s:
            assert s.exec(text("SELECT count(*) FROM log")).one() == (0,)  # type: ignore[call-overload]
        assert _turns(tmp_path).waiting == 0
    finally:
        hold.set()
        writer.join(60)


def test_a_writer_that_waits_too_long_is_told_the_database_is_locked() -> None:
    turns = sqlite_turns.Turns()
    assert turns.take()
    assert turns.take(seconds=0.01) is False
    assert turns.waiting == 0  # it left the line
    turns.give()
    assert turns.take(seconds=0.01) is True


def _synchronous_at_commit(engine: Engine) -> list[int]:
    """PRAGMA synchronous as each transaction commits: 2 (FULL) waits for an fsync, 1 (NORMAL) not."""
    seen: list[int] = []

    @event.listens_for(engine, "commit")
    def commit(conn: Connection) -> None:
        seen.append(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())

    return seen


def test_claims_commit_without_an_fsync_and_outcomes_with_one(tmp_path: Path) -> None:
    ctx = Context.build(config.load(write_config(tmp_path / "shop")))
    raw = b"From: a@example.jp\r\nTo: signup@shop.example\r\nSubject: \r\nMessage-ID: <s1@example.jp>\r\n\r\n"
    store(ctx.engine, ctx.cfg.spool_dir, raw, ["signup@shop.example"], mail_from=None, via="smtp")
    seen = _synchronous_at_commit(ctx.engine)
    [message_id] = claim.take_next(ctx.engine, "tester")
    assert seen == [1]  # lost in a power cut, the message is only taken again
    assert work(ctx, message_id, "tester") == "applied"
    assert seen[1:] and set(seen[1:]) == {2}  # the outcome and its reply are durable
    del seen[:]
    assert len(Sender.build(ctx.cfg, ctx.engine).take()) == 1  # the reply, claimed by the sender
    assert seen == [1]
    with ctx.engine.connect() as conn:  # the pooled connection is back to FULL
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2


def test_a_write_made_by_another_process_for_us_holds_our_writers_in_line(
    engine: Engine, tmp_path: Path
) -> None:
    """The intake writer's batch: serve's own writers (the worker) wait for it in the queue and are
    handed the turn when it ends, instead of polling SQLite's lock."""
    turns = _turns(tmp_path)
    with db.turn_on_behalf(engine):
        worker = threading.Thread(target=_write, args=(engine, "worker"))
        worker.start()
        until(lambda: turns.waiting == 1, "the worker waits for the turn")
        assert _log(db.reading(engine)) == []
    worker.join(60)
    assert (_log(engine), turns.waiting, turns._held) == (["worker"], 0, False)


def test_a_transaction_knows_when_other_writers_of_its_process_wait_for_it(
    engine: Engine, tmp_path: Path
) -> None:
    turns = _turns(tmp_path)
    with db.transaction(engine) as s:
        s.exec(text("INSERT INTO log VALUES ('long')"))  # type: ignore[call-overload]
        assert not db.others_waiting(s)
        other = threading.Thread(target=_write, args=(engine, "other"))
        other.start()
        until(lambda: turns.waiting == 1, "another writer waits")
        assert db.others_waiting(s)
    other.join(60)
    assert _log(engine) == ["long", "other"]
