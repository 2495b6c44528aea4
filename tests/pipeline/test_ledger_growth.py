"""The work of recording a message, and of the scheduler's reminder scan, does not grow with the
ledger: a shop after years of bookings, customers, links, replies and notices records a new notice
or blank mail with the same work as on its first day. Work is counted in SQLite virtual-machine
instructions (a progress handler), which depend on the query plans and the rows read, not on the
machine's speed.

SQLite only: it plans without statistics, which is how it went wrong (an index on a state read
every applied message; a customer's name had no index at all). PostgreSQL plans from the statistics
its autovacuum gathers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, insert
from sqlmodel import Session, select

from mailgate import config
from mailgate.context import Context
from mailgate.ledger import reminders
from mailgate.models import Booking, Customer, Message, Outbox, Token
from tests.conftest import RAISED_MAIL_LIMITS, seed_database, write_config
from tests.e2e.cluster import SHOP
from tests.notices import jp_when, stores_booked
from tests.pipeline.test_batch_accounting import DNS, blank, one_batch, stored

CLIENT = "203.0.113.9"  # the client of the new blank mails and of all the history's mail
SLOT = datetime(2027, 6, 7, 10, 0, tzinfo=UTC)  # the new notices' first slot: after all the history


def history(ctx: Context, n: int, in_hour: bool = False) -> None:
    """n of each: customers, applied notices from the one client, live bookings on the days before
    the new ones, registration links and capped replies made before the last hour (or in it)."""
    earlier = datetime.now(UTC) - timedelta(minutes=30 if in_hour else 120)
    rows: dict[type, list[dict[str, object]]] = {
        Customer: [
            {
                "name": f"履歴 {i}",
                "name_kana": f"リレキ {i}",
                "phone": f"080{i:08d}",
                "status": "ledger",
                "email": f"h{i}@example.jp",
                "email_key": f"h{i}@example.jp",
                "created_at": earlier,
            }
            for i in range(n)
        ],
        Message: [
            {
                "dedupe_key": f"h{i}",
                "rcpt": "notices@shop.example",
                "via": "smtp",
                "client": CLIENT,
                "spool_path": f"h/{i}",
                "size": 1,
                "state": "applied",
                "notice_key": f"stores:H{i}",
                "received_at": earlier,
            }
            for i in range(n)
        ],
    }
    with Session(ctx.engine) as s:
        for model, values in rows.items():
            s.execute(insert(model), values)
        customers = list(s.exec(select(Customer.id).where(Customer.name.startswith("履歴"))))  # type: ignore[attr-defined]
        messages = list(s.exec(select(Message.id).where(Message.dedupe_key.startswith("h"))))  # type: ignore[attr-defined]
        s.execute(
            insert(Booking),
            [
                {
                    "source": "stores",
                    "external_id": f"H{i}",
                    "customer_id": c,
                    "status": "confirmed",
                    "start": SLOT - timedelta(hours=2 * (i + 8)),
                    "end": SLOT - timedelta(hours=2 * (i + 8) - 1),
                    "staff": "佐藤",
                    "message_id": m,
                }
                for i, (c, m) in enumerate(zip(customers, messages, strict=True))
            ],
        )
        s.execute(
            insert(Token),
            [
                {"purpose": "register", "customer_id": c, "message_id": m, "created_at": earlier}
                for c, m in zip(customers, messages, strict=True)
            ],
        )
        s.execute(
            insert(Outbox),
            [
                {
                    "to_addr": f"h{i}@example.jp",
                    "to_key": f"h{i}@example.jp",
                    "template": "signup",
                    "subject": "",
                    "body": "",
                    "header_message_id": f"<h{i}@shop.example>",
                    "cause_message_id": m,
                    "capped": True,
                    "created_at": earlier,
                    "state": "sent",
                }
                for i, m in enumerate(messages)
            ],
        )
        s.commit()


def recording_work(ctx: Context, first: int = 0) -> int:
    """SQLite VM instructions (in thousands) this process runs to record eight blank mails and
    eight notices (each a new customer with a name and reading, on a free slot)."""
    for i in range(first, first + 8):
        blank(ctx, f"new{i}@example.jp", client=CLIENT)
        start = SLOT + timedelta(days=i)
        name = {"name": f"新規 {i}", "kana": f"シンキ {i}"}
        stored(
            ctx,
            stores_booked(
                f"N{i}",
                jp_when(start),
                staff="佐藤",
                email=f"n{i}@example.jp",
                phone=f"090-1234-{i:04d}",
                **name,
            ),
        )
    steps = [0]

    def counted() -> int:
        steps[0] += 1
        return 0

    def on_checkout(dbapi_conn, *_: object) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.set_progress_handler(counted, 1000)

    event.listen(ctx.engine, "checkout", on_checkout)
    one_batch(ctx)
    work = steps[0]
    event.remove(ctx.engine, "checkout", on_checkout)
    ctx.engine.dispose()  # its connections count no more
    with Session(ctx.engine) as s:
        made = s.exec(select(Booking.external_id).where(Booking.id > 0).order_by(Booking.id)).all()
        assert made[-8:] == [f"N{i}" for i in range(first, first + 8)]
    return work


@pytest.fixture
def shop_with_history(tmp_path: Path) -> Callable[..., Context]:
    def made(n: int, in_hour: bool = False) -> Context:
        seed_database(tmp_path / f"{n}.db")
        url = f"sqlite:///{tmp_path / f'{n}.db'}"
        limits = RAISED_MAIL_LIMITS if in_hour else ""
        cfg = write_config(tmp_path / f"shop{n}", DNS, db_url=url, shop=SHOP, mail=limits)
        ctx = Context.build(config.load(cfg))
        history(ctx, n, in_hour)
        return ctx

    return made


def test_recording_a_message_takes_the_same_work_in_a_ledger_forty_times_larger(
    shop_with_history: Callable[..., Context],
) -> None:
    small, large = recording_work(shop_with_history(100)), recording_work(shop_with_history(4000))
    assert large < 1.3 * small, f"{small}k instructions with 100 of each row, {large}k with 4,000"


def test_a_busy_hour_is_not_counted_again_by_every_batch(shop_with_history: Callable[..., Context]) -> None:
    """A load run's hour (the limits raised): the reply and new-customer counts of a batch read what
    changed since the last batch's, not the hour's every reply and link."""

    def second_batch(n: int) -> int:
        ctx = shop_with_history(n, in_hour=True)
        recording_work(ctx)  # reads the hour's rows once
        return recording_work(ctx, first=8)

    small, large = second_batch(100), second_batch(4000)
    assert large < 1.3 * small, f"{small}k instructions with 100 replies in the hour, {large}k with 4,000"


def test_the_reminder_scan_reads_the_days_ahead_not_every_booking_ever(tmp_path: Path) -> None:
    """The scheduler looks for due reminders every minute: through the index on the status it read
    every confirmed booking the shop ever had."""

    def scan_work(n: int) -> int:
        seed_database(tmp_path / f"r{n}.db")
        extra = DNS + '[booking]\nreminders = ["1d18:00", "2h"]\n'
        cfg = write_config(tmp_path / f"r{n}", extra, db_url=f"sqlite:///{tmp_path / f'r{n}.db'}", shop=SHOP)
        ctx = Context.build(config.load(cfg))
        now = datetime(2027, 6, 1, 1, 0, tzinfo=UTC)
        past = [  # typed in by staff (reminders are for those), all before now
            {
                "source": "phone",
                "customer_id": None,
                "status": "confirmed",
                "staff": "佐藤",
                "start": now - timedelta(hours=2 * i + 2),
                "end": now - timedelta(hours=2 * i + 1),
            }
            for i in range(n)
        ]
        ahead = {
            "source": "phone",
            "status": "confirmed",
            "staff": "佐藤",
            "start": now + timedelta(hours=3),
            "end": now + timedelta(hours=4),
        }
        with Session(ctx.engine) as s:
            s.execute(insert(Booking), [*past, ahead])
            s.commit()
        steps = [0]

        def counted() -> int:
            steps[0] += 1
            return 0

        with Session(ctx.engine) as s:
            s.connection().connection.driver_connection.set_progress_handler(counted, 1)  # type: ignore[union-attr]
            found = reminders.planned(s, ctx.ledger, now)
            s.connection().connection.driver_connection.set_progress_handler(None, 1)  # type: ignore[union-attr]
        assert [p.start for p in found] == [ahead["start"]]
        return steps[0]

    small, large = scan_work(100), scan_work(4000)
    assert large < 1.3 * small, f"{small} instructions with 100 past bookings, {large} with 4,000"
