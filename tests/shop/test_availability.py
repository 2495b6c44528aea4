"""Free times as a pure function of the calendar and the bookings: no database, no clock but `now`."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailgate import deadlines
from mailgate.shop.availability import Busy, Offer, offers
from mailgate.shop.calendar import Calendar, DayRule, FixedTime, Menu

JST = ZoneInfo("Asia/Tokyo")
MON, TUE = date(2026, 11, 30), date(2026, 12, 1)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=JST)
WEEK = ((time(10), time(20)), None, *[(time(10), time(20))] * 3, *[(time(10), time(18))] * 2)
SEITAI = Menu("整体 60分", 60, grid=30)
CAL = Calendar(tz=JST, staff=("佐藤", "田中"), menus=(SEITAI,), week=WEEK)


def at(day: date, hhmm: str) -> datetime:
    h, m = hhmm.split(":")
    return datetime.combine(day, time(int(h), int(m)), tzinfo=JST)


def starts(found: list[Offer]) -> list[str]:
    return [f"{o.start.astimezone(JST):%H:%M} {o.staff or '-'}" for o in found]


def busy(staff: str | None, day: date, start: str, end: str) -> Busy:
    return Busy(staff, at(day, start), at(day, end))


def test_free_choice_starts_on_the_grid_inside_the_hours_for_the_first_free_person() -> None:
    found = offers(CAL, SEITAI, MON, [], now=NOW)
    assert starts(found)[0] == "10:00 佐藤" and starts(found)[-1] == "19:00 佐藤" and len(found) == 19
    taken = offers(CAL, SEITAI, MON, [busy("佐藤", MON, "11:00", "12:00")], now=NOW)
    assert "11:00 田中" in starts(taken) and "10:30 田中" in starts(taken)


def test_a_named_person_is_offered_only_their_free_times() -> None:
    found = offers(CAL, SEITAI, MON, [busy("佐藤", MON, "11:00", "12:00")], now=NOW, staff="佐藤")
    assert "10:30 佐藤" not in starts(found) and "11:00 佐藤" not in starts(found)
    assert "10:00 佐藤" in starts(found) and "12:00 佐藤" in starts(found)


def test_the_buffer_after_a_booking_stays_free() -> None:
    menu = replace(SEITAI, buffer=15, grid=15)
    found = offers(CAL, menu, MON, [busy("佐藤", MON, "11:00", "12:15")], now=NOW, staff="佐藤")
    assert "12:00 佐藤" not in starts(found) and "12:15 佐藤" in starts(found)
    assert "09:45 佐藤" not in starts(found) and "10:00 佐藤" not in starts(found)  # 10:00 + 60 + 15 > 11:00


def test_nobody_is_booked_across_a_break() -> None:
    cal = replace(CAL, week_breaks=((((time(12), time(13))),),) * 7)
    found = starts(offers(cal, SEITAI, MON, [], now=NOW))
    assert "11:30 佐藤" not in found and "12:00 佐藤" not in found and "13:00 佐藤" in found


def test_a_booking_with_no_one_named_needs_one_more_free_person() -> None:
    unnamed = busy(None, MON, "14:00", "15:00")
    assert "14:00 佐藤" in starts(offers(CAL, SEITAI, MON, [unnamed], now=NOW))
    both = [unnamed, busy("田中", MON, "14:00", "15:00")]
    assert not any(s.startswith("14:00") for s in starts(offers(CAL, SEITAI, MON, both, now=NOW)))


def test_shifts_closed_days_and_who_can_do_the_menu() -> None:
    cal = replace(CAL, shifts={("佐藤", MON): (time(10), time(16))})
    mine = starts(offers(cal, SEITAI, MON, [], now=NOW, staff="佐藤"))
    assert mine[-1] == "15:00 佐藤"
    assert offers(cal, SEITAI, TUE, [], now=NOW) == []  # 定休日
    only_tanaka = replace(SEITAI, staff=("田中",))
    assert {o.staff for o in offers(cal, only_tanaka, MON, [], now=NOW)} == {"田中"}
    assert offers(cal, only_tanaka, MON, [], now=NOW, staff="佐藤") == []


def test_the_booking_deadline_and_how_far_ahead_it_opens() -> None:
    menu = replace(SEITAI, book_until="1d18:00", ahead_days=30)
    evening_before = datetime(2026, 11, 29, 18, 1, tzinfo=JST)
    assert offers(CAL, menu, MON, [], now=evening_before) == []
    assert offers(CAL, menu, MON, [], now=evening_before - timedelta(minutes=2))
    assert offers(CAL, menu, MON + timedelta(days=28), [], now=NOW) == []  # 38 days ahead


def test_the_hours_of_a_shop_open_past_midnight() -> None:
    bar = Calendar(tz=JST, week=((time(18), time(2)),) * 7)
    found = starts(offers(bar, SEITAI, MON, [], now=NOW))
    assert found[0] == "18:00 -" and found[-1] == "01:00 -"


def test_a_shop_without_a_roster_is_one_person() -> None:
    solo = Calendar(tz=JST, week=WEEK)
    found = starts(offers(solo, SEITAI, MON, [busy(None, MON, "10:00", "11:00")], now=NOW))
    assert found[0] == "11:00 -"


def test_fixed_slots_offer_their_seats_left() -> None:
    yoga = Menu("ヨガ", 60, kind="slots")
    slot = FixedTime(7, "ヨガ", at(MON, "10:00"), at(MON, "11:00"), seats=8)
    cal = replace(CAL, menus=(yoga,), fixed=(slot,))
    [offer] = offers(cal, yoga, MON, [], now=NOW, taken_seats={7: 7})
    assert (offer.slot_id, offer.seats_left) == (7, 1)
    assert offers(cal, yoga, MON, [], now=NOW, taken_seats={7: 8}) == []
    more = replace(cal, days={MON: DayRule(span=WEEK[0], seats_delta=2)})
    assert offers(more, yoga, MON, [], now=NOW, taken_seats={7: 8})[0].seats_left == 2


@pytest.mark.parametrize(
    ("rule", "latest", "words"),
    [
        ("0", "2026-12-03 13:00", "開始時刻まで"),
        ("90m", "2026-12-03 11:30", "開始90分前まで"),
        ("2h", "2026-12-03 11:00", "開始2時間前まで"),
        ("1d18:00", "2026-12-02 18:00", "前日18:00まで"),
        ("1d", "2026-12-02 13:00", "前日の同じ時刻まで"),
    ],
)
def test_deadlines_as_shops_say_them(rule: str, latest: str, words: str) -> None:
    start = datetime(2026, 12, 3, 13, 0, tzinfo=JST)
    assert f"{deadlines.latest(rule, start, JST).astimezone(JST):%Y-%m-%d %H:%M}" == latest
    assert deadlines.describe(rule) == words


@pytest.mark.parametrize("rule", ["", "1x", "1d25:00", "-5m", "tomorrow"])
def test_a_wrong_deadline_says_what_one_looks_like(rule: str) -> None:
    with pytest.raises(ValueError):
        deadlines.check(rule)
