"""Bookings that must fit — a customer's own, the desk's for a caller — on SQLite and PostgreSQL: the
menu's rules, the customer's limits, a free time, and the seat the database guards."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, func, select

from mailgate import config, db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import bookings, fitting
from mailgate.ledger.fit_rules import DESK
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking
from mailgate.shop_tables import SeatClaim
from tests import notices
from tests.conftest import write_config
from tests.ledger.conftest import AUTHN

JST = ZoneInfo("Asia/Tokyo")
SHOP = """staff_alerts = ["staff@shop.example"]
phone = "03-1234-5678"
staff = [{ name = "佐藤", aliases = ["さとう"] }, { name = "田中" }]
[[shop.menus]]
name = "整体"
minutes = 60
buffer = 10
grid = 30
price = 6000
book_until = "1d18:00"
change_until = "2h"
cancel_until = "2h"
ahead_days = 30
[[shop.menus]]
name = "体験"
minutes = 30
confirm = "tentative"
[[shop.menus]]
name = "相談"
minutes = 30
confirm = "application"
[shop.hours]
mon = "10:00-20:00"
tue = "closed"
wed = "10:00-20:00"
thu = "10:00-20:00"
fri = "10:00-20:00"
sat = "09:00-18:00"
sun = "09:00-18:00"
"""
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
THU = datetime(2026, 12, 3, 13, 0, tzinfo=JST)
WEB = Actor("link:login:1")


@pytest.fixture
def salon(tmp_path: Path, db_url: str) -> Context:
    return Context.build(config.load(write_config(tmp_path / "shop", AUTHN, db_url=db_url, shop=SHOP)))


def guest(n: int) -> Person:
    return Person(name=f"客{n}", phone=f"0901234{n:04d}", email=f"g{n}@example.jp")


def book(
    ctx: Context, start: datetime = THU, *, menu: str = "整体", n: int = 1, now: datetime = NOW, **kw: object
) -> Result:
    cmd = fitting.FitBook(source="web", start=start, menu=menu, person=guest(n), **kw)  # type: ignore[arg-type]
    with db.transaction(ctx.engine) as s:
        return fitting.book(s, ctx.ledger, cmd, WEB, now)


def row(ctx: Context, booking_id: int | None) -> Booking:
    with Session(ctx.engine) as s:
        found = s.get(Booking, booking_id)
        assert found is not None
        return found


def claims(ctx: Context, booking_id: int | None = None) -> int:
    with Session(ctx.engine) as s:
        stmt = select(func.count()).select_from(SeatClaim)
        if booking_id is not None:
            stmt = stmt.where(SeatClaim.booking_id == booking_id)
        return int(s.exec(stmt).one())


def test_a_customer_books_a_free_time_and_holds_its_seat_with_the_buffer(salon: Context) -> None:
    done = book(salon)
    assert (done.status, done.state) == (Status.CREATED, "confirmed")
    b = row(salon, done.booking_id)
    assert (b.staff, b.menu, b.price, b.end - b.start) == ("佐藤", "整体", 6000, timedelta(minutes=60))
    assert claims(salon, b.id) == 14  # 60 + 10 minutes in 5-minute grains


def test_anyone_goes_to_the_next_free_person_then_the_time_is_taken(salon: Context) -> None:
    assert row(salon, book(salon, n=1).booking_id).staff == "佐藤"
    assert row(salon, book(salon, n=2).booking_id).staff == "田中"
    full = book(salon, n=3)
    assert (full.status, full.code) == (Status.TAKEN, "taken")
    assert book(salon, n=4, staff="さとう").status == Status.TAKEN


def test_the_same_form_twice_books_once(salon: Context) -> None:
    first = book(salon, idempotency_key="form-1")
    again = book(salon, idempotency_key="form-1")
    assert (again.status, again.booking_id) == (Status.ALREADY, first.booking_id)


def test_too_late_too_far_and_the_customers_limits_are_refused_with_a_code(salon: Context) -> None:
    evening_before = datetime(2026, 12, 2, 18, 1, tzinfo=JST)
    late = book(salon, now=evening_before)
    assert (late.status, late.code) == (Status.REFUSED, "late") and "前日18:00まで" in late.reason
    assert book(salon, now=evening_before, policy=DESK).status == Status.CREATED  # the desk may
    assert book(salon, THU + timedelta(days=40), n=2).code == "too_far"
    assert book(salon, THU.replace(hour=10), n=5).status == Status.CREATED
    assert book(salon, THU.replace(hour=11), n=5).status == Status.CREATED
    limited = book(salon, THU.replace(hour=15), n=5)  # [booking] max_per_day = 2
    assert (limited.status, limited.code) == (Status.REFUSED, "limit")


def test_a_tentative_booking_holds_its_seat_until_confirmed_or_expired(salon: Context) -> None:
    held = book(salon, menu="体験")
    assert held.state == "tentative" and row(salon, held.booking_id).expires_at is not None
    with db.transaction(salon.engine) as s:
        assert fitting.confirm(s, salon.ledger, held.booking_id or 0, WEB, NOW).status == Status.CONFIRMED
    other = book(salon, THU.replace(hour=15), menu="体験", n=2, staff="佐藤")
    later = NOW + timedelta(minutes=31)
    with db.transaction(salon.engine) as s:
        assert fitting.expire_due(s, later) == [other.booking_id]
        assert fitting.confirm(s, salon.ledger, other.booking_id or 0, WEB, later).status == Status.EXPIRED
    assert claims(salon, other.booking_id) == 0
    assert (
        book(salon, THU.replace(hour=15), menu="体験", n=3, staff="佐藤", now=later).status == Status.CREATED
    )


def test_an_application_holds_nothing(salon: Context) -> None:
    a, b = book(salon, menu="相談", n=1, staff="佐藤"), book(salon, menu="相談", n=2, staff="佐藤")
    assert (a.state, b.state) == ("application", "application")
    assert claims(salon) == 0


def test_a_move_takes_the_new_seat_or_leaves_the_booking_as_it_was(salon: Context) -> None:
    mine = book(salon, n=1, staff="佐藤")
    theirs = book(salon, THU.replace(hour=15), n=2, staff="佐藤")
    with db.transaction(salon.engine) as s:
        moved = fitting.move(
            s, salon.ledger, fitting.FitMove(mine.booking_id or 0, THU.replace(hour=17)), WEB, NOW
        )
    assert moved.status == Status.MOVED and row(salon, mine.booking_id).version == 2
    assert book(salon, n=3, staff="佐藤").status == Status.CREATED  # 13:00 is free again
    with db.transaction(salon.engine) as s:
        onto = fitting.move(
            s, salon.ledger, fitting.FitMove(mine.booking_id or 0, THU.replace(hour=15)), WEB, NOW
        )
    assert onto.status == Status.TAKEN
    b = row(salon, mine.booking_id)
    assert (b.start.astimezone(JST).hour, b.version, claims(salon, b.id)) == (17, 2, 14)
    assert row(salon, theirs.booking_id).start.astimezone(JST).hour == 15


def test_a_cancel_frees_the_seat_until_its_deadline_and_an_old_link_is_refused(salon: Context) -> None:
    mine = book(salon)
    with db.transaction(salon.engine) as s:
        stale = fitting.cancel(s, salon.ledger, fitting.FitCancel(mine.booking_id or 0, version=0), WEB, NOW)
        late = fitting.cancel(
            s, salon.ledger, fitting.FitCancel(mine.booking_id or 0), WEB, THU - timedelta(hours=1)
        )
        done = fitting.cancel(s, salon.ledger, fitting.FitCancel(mine.booking_id or 0, version=1), WEB, NOW)
    assert (stale.code, late.code, done.status) == ("changed", "late", Status.CANCELLED)
    assert claims(salon) == 0 and row(salon, mine.booking_id).version == 2


def test_a_vendors_booking_holds_its_seat_so_nobody_books_over_it(salon: Context) -> None:
    notice = notices.stores_booked("5150", "2026年12月03日 (木) 13:00 ~ 14:00", staff="佐藤")
    from mailgate.inbound.store import store
    from mailgate.pipeline.worker import process_pending

    store(salon.engine, salon.cfg.spool_dir, notice, ["notices@shop.example"], mail_from=None, via="smtp")
    process_pending(salon)
    assert book(salon, staff="佐藤").status == Status.TAKEN
    assert row(salon, book(salon).booking_id).staff == "田中"


def test_the_last_seat_raced_by_many_at_once_is_booked_once(salon: Context) -> None:
    results: list[Result] = []
    start = threading.Barrier(8, timeout=30)

    def attempt(n: int) -> None:
        start.wait()
        results.append(book(salon, n=n, staff="佐藤"))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.status for r in results).count(Status.CREATED) == 1
    assert {r.status for r in results} == {Status.CREATED, Status.TAKEN}
    with Session(salon.engine) as s:
        assert int(s.exec(select(func.count()).select_from(Booking)).one()) == 1


def test_the_vendor_path_and_the_fitting_path_share_one_result_type() -> None:
    assert bookings.Result is Result
