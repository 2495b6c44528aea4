"""Free times to show, on SQLite and PostgreSQL: one read of the bookings serves a week, each day's
offers are that day's own, and only bookings that hold a seat take time."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from mailgate import db
from mailgate.context import Context
from mailgate.ledger import fitting, free_times
from mailgate.ledger.fit_rules import DESK, busy_on
from mailgate.shop.availability import Offer, offers
from tests.ledger import test_fitting
from tests.ledger.test_fitting import NOW, THU, WEB, book

salon = test_fitting.salon  # the same shop as the fitting tests

WEEK = [THU.date() + timedelta(days=i) for i in range(7)]  # Thursday to Wednesday; Tuesday closed


def starts(found: list[Offer]) -> list[str]:
    return [f"{o.start.astimezone(THU.tzinfo):%H:%M} {o.staff}" for o in found]


def test_a_weeks_free_times_are_each_days_own_from_one_read(salon: Context) -> None:
    assert book(salon, staff="佐藤").status == "created"  # Thursday 13:00-14:00, buffer to 14:10
    assert book(salon, THU + timedelta(days=1, hours=2), n=2, staff="田中").status == "created"
    cal = salon.ledger.calendar
    menu = cal.menu_named("整体")
    assert menu is not None
    with Session(salon.engine) as s:
        week = free_times.on_days(s, cal, menu, WEEK, now=NOW, staff="佐藤")
        for day in WEEK:
            lo = THU.replace(year=day.year, month=day.month, day=day.day, hour=0)
            each = offers(cal, menu, day, busy_on(s, cal, lo, lo + timedelta(days=1)), now=NOW, staff="佐藤")
            assert starts(week[day]) == starts(each), day
            assert starts(free_times.on_day(s, cal, menu, day, now=NOW, staff="佐藤")) == starts(each)
    thursday = starts(week[THU.date()])
    assert "11:30 佐藤" in thursday and "14:30 佐藤" in thursday  # the grid is 30 minutes
    assert "12:00 佐藤" not in thursday  # its buffer would reach into 13:00
    assert "12:30 佐藤" not in thursday and "13:00 佐藤" not in thursday and "14:00 佐藤" not in thursday
    assert week[date(2026, 12, 8)] == []  # Tuesday: closed


def test_a_cancelled_booking_gives_its_time_back(salon: Context) -> None:
    done = book(salon, staff="佐藤")
    cal = salon.ledger.calendar
    menu = cal.menu_named("整体")
    assert menu is not None

    def thursday() -> list[str]:
        with Session(salon.engine) as s:
            return starts(free_times.on_day(s, cal, menu, THU.date(), now=NOW, staff="佐藤", policy=DESK))

    assert "13:00 佐藤" not in thursday()
    with db.transaction(salon.engine) as s:
        cmd = fitting.FitCancel(done.booking_id or 0, policy=DESK, notify=False)
        assert fitting.cancel(s, salon.ledger, cmd, WEB, NOW).status == "cancelled"
    assert "13:00 佐藤" in thursday()
