"""Two workers (two nodes) applying at the same moment, on SQLite and PostgreSQL.

On PostgreSQL the two apply transactions are made to overlap for real: each worker waits at a barrier
right after it re-checked its claim, inside its transaction, until the other is there too. SQLite lets
one writer in at a time (BEGIN IMMEDIATE), so there the second simply waits for the first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlmodel import Session, func, select

from mailgate import db
from mailgate.context import Context
from mailgate.inbound.store import store
from mailgate.jobs import evening_digest
from mailgate.models import Booking, Conflict, Customer, Inquiry, JobRun, Message, Outbox
from mailgate.pipeline.worker import process
from tests import notices
from tests.conftest import CORPUS

RCPT = ["notices@shop.example"]


def put(ctx: Context, raw: bytes, rcpt: list[str] = RCPT) -> int:
    [mid] = store(ctx.engine, ctx.cfg.spool_dir, raw, rcpt, mail_from=None, via="smtp").ids
    return mid


def count(ctx: Context, model, *where) -> int:  # type: ignore[no-untyped-def]
    with Session(ctx.engine) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


@contextmanager
def overlapping(ctx: Context, workers: int) -> Iterator[None]:
    """On PostgreSQL, hold each worker inside its apply transaction until all are inside theirs."""
    if not db.is_postgres(ctx.engine):
        yield
        return
    barrier = threading.Barrier(workers, timeout=30)

    def inside(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE MESSAGE SET CLAIMED_BY"):
            barrier.wait()

    event.listen(ctx.engine, "after_cursor_execute", inside)
    try:
        yield
    finally:
        event.remove(ctx.engine, "after_cursor_execute", inside)


def at_once(ctx: Context, message_ids: list[int], *, overlap: bool = True) -> list[str | None]:
    results: list[str | None] = [None] * len(message_ids)

    def run(i: int) -> None:
        results[i] = process(ctx, message_ids[i])

    with overlapping(ctx, len(message_ids) if overlap else 1):
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(message_ids))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    return results


def test_two_clashing_notices_at_once_give_one_conflict_and_one_alert(shop: Context) -> None:
    when = "2026年12月03日 (木) 13:00 ~ 14:00"
    first = put(shop, notices.stores_booked("9100", when, staff="佐藤"))
    second = put(shop, notices.stores_booked("9101", when, staff="佐藤"))
    assert at_once(shop, [first, second]) == ["applied", "applied"]
    assert count(shop, Booking) == 2
    assert count(shop, Conflict) == 1
    assert count(shop, Outbox, Outbox.template == "staff_alerts") == 1


def test_one_new_customers_two_notices_at_once_make_one_customer(shop: Context) -> None:
    a = put(shop, notices.stores_booked("9200", "2026年12月03日 (木) 13:00 ~ 14:00"))
    b = put(shop, notices.stores_booked("9201", "2026年12月10日 (木) 13:00 ~ 14:00"))
    assert at_once(shop, [a, b]) == ["applied", "applied"]
    assert count(shop, Booking) == 2
    assert count(shop, Customer) == 1


def test_two_blank_mails_from_one_address_at_once_make_one_customer(shop: Context) -> None:
    def blank(n: int) -> bytes:
        head = f"From: twice@example.jp\r\nTo: signup@shop.example\r\nMessage-ID: <tw{n}@example.jp>\r\n"
        return f"{head}\r\n".encode()

    ids = [put(shop, blank(n), ["signup@shop.example"]) for n in range(2)]
    assert at_once(shop, ids) == ["applied", "applied"]
    assert count(shop, Customer) == 1
    assert count(shop, Message, Message.state == "applied") == 2


def test_one_message_taken_by_two_workers_at_once_is_applied_once(shop: Context) -> None:
    """The claim decides: whoever does not hold the message does not apply it."""
    mid = put(shop, (CORPUS / "stores" / "inquiry-01.eml").read_bytes())
    results = at_once(shop, [mid, mid], overlap=False)
    assert sorted(results, key=str) == [None, "applied"]
    assert count(shop, Inquiry) == 1


def test_the_evening_digest_run_by_two_nodes_at_once_is_sent_once(shop: Context) -> None:
    mid = put(shop, (CORPUS / "stores" / "inquiry-01.eml").read_bytes())
    assert process(shop, mid) == "applied"
    with Session(shop.engine) as s:
        received = s.get(Message, mid)
        assert received is not None
        now = received.received_at  # the same shop day as the inquiry, whenever the test runs
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(evening_digest(shop, now))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(counts) == [0, 1]
    assert count(shop, JobRun, JobRun.job == "evening_digest") == 1
    assert count(shop, Outbox, Outbox.template == "inquiry_digest") == 1
