"""Group commit over real sockets, on SQLite and PostgreSQL: messages that arrive while a batch is
being stored are stored together in one transaction, each 250 only after that commit, and a batch
that fails answers every message in it with 451 and stores none of them.

The test holds the database's write lock (as another writer would) so that the first message's batch
waits and the next messages queue behind it: what goes in which batch is decided by the lock, never
by timing."""

from __future__ import annotations

import asyncio
import smtplib
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from mailgate import db
from mailgate.context import Context
from mailgate.inbound.smtp import Handler, make_smtp
from mailgate.inbound.smtp_connection import SmtpLimits
from mailgate.models import Message
from tests.conftest import wait_for

QUEUED = 6  # messages that arrive while the first batch waits for the lock


class Intake:
    """mailgate's SMTP intake (its Handler and Connection) on an event loop of its own, on a real port."""

    def __init__(self, ctx: Context) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.handler = Handler(ctx.cfg, ctx.engine, on_stored=lambda: None)
        limits = SmtpLimits.of(ctx.cfg.raw.smtp)
        serving = self.loop.create_server(lambda: make_smtp(ctx.cfg, self.handler, limits), "127.0.0.1", 0)
        self.server = asyncio.run_coroutine_threadsafe(serving, self.loop).result(timeout=30)
        self.port = self.server.sockets[0].getsockname()[1]

    def send(self, n: int, subject: str = "hi", msgid: str | None = None) -> tuple[int, str]:
        """One message over its own connection: the reply to its DATA."""
        sender = f"c{n}@example.jp"
        raw = (
            f"From: {sender}\r\nTo: signup@shop.example\r\nMessage-ID: <{msgid or f'gc-{n}'}@example.jp>\r\n"
            f"Subject: {subject}\r\n\r\n \r\n"
        )
        with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as s:
            s.ehlo()
            s.mail(sender)
            s.rcpt("signup@shop.example")
            code, reply = s.data(raw.encode())
        return code, reply.decode()

    def close(self) -> None:
        self.server.close()
        self.handler.intake.close()  # as serve does, while the loop runs: it closes the writer's socket
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)


@pytest.fixture
def intake(db_ctx: Context) -> Iterator[Intake]:
    served = Intake(db_ctx)
    try:
        yield served
    finally:
        served.close()


@contextmanager
def write_lock(ctx: Context) -> Iterator[Connection]:
    """The database's write lock held, as another writer would hold it, until the block ends."""
    with ctx.engine.connect() as conn:
        conn.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
        if db.is_postgres(ctx.engine):
            conn.execute(text("LOCK TABLE message IN EXCLUSIVE MODE"))  # reads go on, inserts wait
        yield conn
        conn.rollback()


@contextmanager
def write_lock_elsewhere(ctx: Context) -> Iterator[None]:
    """The write lock held as another process holds it: on SQLite not through this process's turn,
    which the intake's parent takes before it hands a batch to its writer child."""
    if db.is_postgres(ctx.engine):
        with write_lock(ctx):
            yield
        return
    path = db.sqlite_path(str(ctx.engine.url))
    assert path is not None
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.close()  # rolls back


def stored(ctx: Context) -> list[Message]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Message).order_by(Message.id)))


def queued_behind_a_waiting_batch(
    ctx: Context, intake: Intake, messages: list[tuple[int, str, str | None]]
) -> tuple[tuple[int, str], list[tuple[int, str]]]:
    """The replies to a first message, whose batch waits for the write lock, and to `messages`, sent
    at once while it waits."""
    pool = ThreadPoolExecutor(len(messages) + 1)
    with write_lock(ctx):
        first = pool.submit(intake.send, 0)
        wait_for(lambda: intake.handler.intake.storing == 1)
        rest = [pool.submit(intake.send, *m) for m in messages]
        wait_for(lambda: intake.handler.intake.waiting == len(messages))
        assert not first.done() and not any(r.done() for r in rest), "no 250 before the commit"
    replies = first.result(timeout=60), [r.result(timeout=60) for r in rest]
    pool.shutdown()
    return replies


def test_messages_arriving_meanwhile_share_one_transaction_each_250_after_it(
    db_ctx: Context, intake: Intake
) -> None:
    first, rest = queued_behind_a_waiting_batch(
        db_ctx, intake, [(n, "hi", None) for n in range(1, QUEUED + 1)]
    )
    assert [first[0], *(code for code, _ in rest)] == [250] * (QUEUED + 1)
    # Counted by an SQLAlchemy listener on the writer process's engine, where the commits happen.
    committed = intake.handler.intake.writer.commits
    assert committed == 2, "the first message's transaction, then one for all the others"
    counts = intake.handler.intake.counts
    assert (counts.batches, counts.messages, counts.largest) == (2, QUEUED + 1, QUEUED)
    rows = stored(db_ctx)
    assert len(rows) == QUEUED + 1
    assert sorted(reply.rsplit(" ", 1)[-1] for _, reply in rest) == sorted(str(m.id) for m in rows[1:])


def test_one_message_delivered_twice_in_one_batch_is_one_row(db_ctx: Context, intake: Intake) -> None:
    first, rest = queued_behind_a_waiting_batch(db_ctx, intake, [(1, "hi", "twice"), (2, "hi", "twice")])
    assert [first[0], *(code for code, _ in rest)] == [250, 250, 250]
    rows = stored(db_ctx)
    assert len(rows) == 2
    assert {reply for _, reply in rest} == {f"2.0.0 OK queued as {rows[1].id}"}


def test_a_batch_that_fails_answers_451_to_each_message_in_it_and_stores_none(
    db_ctx: Context, intake: Intake
) -> None:
    refuse_poison(db_ctx)
    messages = [(n, "poison" if n == 3 else "hi", None) for n in range(1, QUEUED + 1)]
    first, rest = queued_behind_a_waiting_batch(db_ctx, intake, messages)
    assert first[0] == 250
    assert [code for code, _ in rest] == [451] * QUEUED
    assert [m.header_message_id for m in stored(db_ctx)] == ["gc-0@example.jp"]
    assert intake.handler.intake.counts.failed == 1
    # Nothing is wedged: the sender's retry of a good one is taken.
    assert intake.send(1)[0] == 250
    assert len(stored(db_ctx)) == 2


def test_a_writer_killed_mid_batch_fails_its_messages_and_the_next_batch_is_stored(
    db_ctx: Context, intake: Intake
) -> None:
    intake.handler.intake.writer.warm()  # started and ready, as serve leaves it: the batch goes to it
    writer = intake.handler.intake.writer.process
    assert writer is not None
    pool = ThreadPoolExecutor(1)
    with write_lock_elsewhere(db_ctx):
        first = pool.submit(intake.send, 0)
        wait_for(lambda: intake.handler.intake.storing == 1)  # handed to the writer, waiting for the lock
        writer.kill()
        code, reply = first.result(timeout=60)
    pool.shutdown()
    assert (code, stored(db_ctx)) == (451, [])
    assert reply.startswith("4.3.0 Temporary local problem")
    assert intake.send(0)[0] == 250, "the client's retry is taken by a new writer"
    assert intake.handler.intake.writer.process is not writer
    assert [m.header_message_id for m in stored(db_ctx)] == ["gc-0@example.jp"]


def test_messages_sent_ahead_to_a_writer_that_is_killed_are_sent_again_to_the_next_one(
    db_ctx: Context, intake: Intake
) -> None:
    """Each message goes to the writer as it arrives, to be read before its batch: those a killed
    writer had been sent are stored by the next one, which was never sent them."""
    assert intake.send(100)[0] == 250  # a writer started and linked to the event loop
    pool = ThreadPoolExecutor(QUEUED + 1)
    with write_lock_elsewhere(db_ctx):
        first = pool.submit(intake.send, 0)
        wait_for(lambda: intake.handler.intake.storing == 1)  # the child waits for the lock
        writer = intake.handler.intake.writer.process
        assert writer is not None
        rest = [pool.submit(intake.send, n) for n in range(1, QUEUED + 1)]
        wait_for(lambda: intake.handler.intake.waiting == QUEUED)
        assert intake.handler.intake.writer.sent_ahead == 1 + QUEUED  # to that child, as they came
        writer.kill()
        assert first.result(timeout=60)[0] == 451
        wait_for(lambda: intake.handler.intake.storing == QUEUED)  # a new child, waiting for the lock
    assert [r.result(timeout=60)[0] for r in rest] == [250] * QUEUED
    pool.shutdown()
    assert intake.handler.intake.writer.process is not writer
    assert {m.header_message_id for m in stored(db_ctx)} == {
        f"gc-{n}@example.jp" for n in (100, *range(1, QUEUED + 1))
    }


def refuse_poison(ctx: Context) -> None:
    """A trigger that makes the database refuse the insert of a message with the subject "poison"."""
    with ctx.engine.begin() as conn:
        if db.is_postgres(ctx.engine):
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.subject = 'poison' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON message "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON message WHEN NEW.subject = 'poison' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
