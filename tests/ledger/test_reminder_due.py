"""Which reminders are due, as a pure function of the bookings, their offsets, the time and the
catch-up window."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mailgate.ledger.reminder_due import Planned, due, lead, window_of

JST = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 12, 3, 13, 0, tzinfo=JST)  # a Thursday
DAY_BEFORE = datetime(2026, 12, 2, 18, 0, tzinfo=JST)
SIX_HOURS = timedelta(hours=6)
BOOKING = Planned(booking_id=7, version=1, start=START, offsets=("1d18:00", "2h"))


def kinds(now: datetime, *planned: Planned, window: timedelta = SIX_HOURS, done=()) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.kind for d in due(planned or (BOOKING,), now, window, JST, done) if d.send]


def test_the_day_before_reminder_is_due_from_18_00_local_time_the_day_before() -> None:
    assert kinds(DAY_BEFORE - timedelta(minutes=1)) == []
    assert kinds(DAY_BEFORE) == ["remind:1d18:00"]
    [found] = due([BOOKING], DAY_BEFORE, SIX_HOURS, JST)
    assert found.at == DAY_BEFORE and found.key == (7, "remind:1d18:00", 1)


def test_both_reminders_are_due_two_hours_before_unless_one_is_recorded_already() -> None:
    two_before = START - timedelta(hours=2)
    assert kinds(two_before, window=timedelta(days=1)) == ["remind:1d18:00", "remind:2h"]
    assert kinds(two_before, window=timedelta(days=1), done={(7, "remind:1d18:00", 1)}) == ["remind:2h"]


def test_a_new_version_of_the_booking_is_due_again() -> None:
    moved = Planned(7, 2, START, ("1d18:00",))
    assert kinds(DAY_BEFORE, moved, done={(7, "remind:1d18:00", 1)}) == ["remind:1d18:00"]


def test_a_reminder_missed_within_the_window_is_sent_late_and_one_missed_longer_is_skipped() -> None:
    late = DAY_BEFORE + SIX_HOURS
    assert kinds(late) == ["remind:1d18:00"]
    [skipped] = due([BOOKING], late + timedelta(minutes=1), SIX_HOURS, JST)
    assert skipped.kind == "remind:1d18:00" and not skipped.send


def test_nothing_is_due_once_the_booking_has_started() -> None:
    assert due([BOOKING], START, timedelta(days=3), JST) == []


def test_the_horizon_covers_an_early_day_before_reminder_of_a_late_booking() -> None:
    late = Planned(7, 1, datetime(2026, 12, 3, 23, 30, tzinfo=JST), ("1d06:00",))
    [found] = due([late], late.start - timedelta(hours=40), SIX_HOURS, JST)
    assert found.at == datetime(2026, 12, 2, 6, 0, tzinfo=JST)
    assert late.start - found.at <= lead("1d06:00")
    assert lead("2h") == timedelta(hours=2) and lead("90m") == timedelta(minutes=90)
    assert window_of("6h") == SIX_HOURS and window_of("1d") == timedelta(days=1)


def test_the_same_offset_twice_is_one_reminder() -> None:
    twice = Planned(7, 1, START, ("2h", "2h"))
    assert kinds(START - timedelta(hours=1), twice) == ["remind:2h"]
