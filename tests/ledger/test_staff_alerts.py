"""Staff alerts grouped per interval, none lost: the first alert of an interval goes at once, the
rest of that interval in one mail at the next, once however many nodes run. SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.jobs import staff_alerts
from mailgate.ledger import bookings
from mailgate.ledger.matching import Person
from mailgate.models import Conflict, Outbox
from tests.conftest import write_config
from tests.ledger.conftest import SHOP

STAFF = ["staff@shop.example", "owner@shop.example"]
T0 = datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC)  # 30 s into a 10-minute interval
DESK = Actor.operator("sato")


def make_shop(tmp_path: Path, db_url: str, minutes: int | None = None) -> Context:
    addresses = ", ".join(f'"{a}"' for a in STAFF)
    shop = SHOP.replace('staff_alerts = ["staff@shop.example"]', f"staff_alerts = [{addresses}]")
    if minutes is not None:
        shop = f"staff_alert_minutes = {minutes}\n" + shop
    return Context.build(config.load(write_config(tmp_path / "shop", db_url=db_url, shop=shop)))


@pytest.fixture
def two_staff(tmp_path: Path, db_url: str) -> Context:
    return make_shop(tmp_path, db_url)


def clash(ctx: Context, n: int, now: datetime) -> None:
    """The n-th booking of one staff member's 10:00 slot: every one after the first is a conflict."""
    cmd = bookings.Book(
        source="phone",
        start=datetime(2026, 12, 3, 1, 0, tzinfo=UTC),
        staff="佐藤",
        menu="整体 60分コース",
        customer=Person(name=f"客{n}"),
        idempotency_key=f"desk-{n}",
    )
    with db.transaction(ctx.engine) as s:
        bookings.book(s, ctx.ledger, cmd, DESK, now)


def alert_mails(ctx: Context) -> list[Outbox]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Outbox).where(col(Outbox.to_addr).in_(STAFF)).order_by(col(Outbox.id))))


def conflict_ids(ctx: Context) -> list[int]:
    with Session(ctx.engine) as s:
        return sorted(c.id for c in s.exec(select(Conflict)) if c.id is not None)


def listed(mails: list[Outbox]) -> list[int]:
    """The conflicts the mails to the first staff address name, in order."""
    first = [m for m in mails if m.to_addr == STAFF[0]]
    return [int(n) for m in first for n in re.findall(r"conflicts resolve (\d+)", m.body)]


def test_eleven_clashes_in_a_minute_make_one_mail_at_once_and_one_for_the_rest_next_interval(
    two_staff: Context,
) -> None:
    for n in range(12):
        clash(two_staff, n, T0 + timedelta(seconds=n))
    conflicts = conflict_ids(two_staff)
    assert len(conflicts) == 11
    first = alert_mails(two_staff)
    assert [m.to_addr for m in first] == STAFF  # the first alert, at once, to each address
    assert listed(first) == conflicts[:1] and "予約の重複" in first[0].subject  # the alert itself
    assert staff_alerts(two_staff, T0 + timedelta(minutes=5)) == 0  # this interval had its mail
    assert len(alert_mails(two_staff)) == 2
    assert staff_alerts(two_staff, T0 + timedelta(minutes=10)) == 10  # the next interval: the rest
    mails = alert_mails(two_staff)
    assert [m.to_addr for m in mails[2:]] == STAFF
    assert "10件" in mails[2].subject
    assert listed(mails) == conflicts  # none lost, none twice
    assert staff_alerts(two_staff, T0 + timedelta(minutes=20)) == 0  # nothing left
    assert len(alert_mails(two_staff)) == 4


def test_an_alert_after_a_quiet_interval_goes_at_once(two_staff: Context) -> None:
    clash(two_staff, 0, T0)
    clash(two_staff, 1, T0)
    clash(two_staff, 2, T0 + timedelta(minutes=30))
    mails = alert_mails(two_staff)
    assert len(mails) == 4 and listed(mails) == conflict_ids(two_staff)


def test_with_no_interval_every_alert_goes_at_once(tmp_path: Path, db_url: str) -> None:
    shop = make_shop(tmp_path, db_url, minutes=0)
    for n in range(4):
        clash(shop, n, T0)
    assert len(alert_mails(shop)) == 3 * len(STAFF)
    assert listed(alert_mails(shop)) == conflict_ids(shop)


def test_the_interval_mail_run_by_two_nodes_at_once_is_sent_once(tmp_path: Path, pg_db_url: str) -> None:
    nodes = [make_shop(tmp_path / str(i), pg_db_url) for i in range(2)]
    for n in range(4):
        clash(nodes[0], n, T0)
    barrier = threading.Barrier(2, timeout=30)
    counts: list[int] = []

    def run(node: Context) -> None:
        barrier.wait()
        counts.append(staff_alerts(node, T0 + timedelta(minutes=10)))

    threads = [threading.Thread(target=run, args=(node,)) for node in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(counts) == [0, 2]
    mails = alert_mails(nodes[0])
    assert len(mails) == 2 * len(STAFF) and listed(mails) == conflict_ids(nodes[0])
