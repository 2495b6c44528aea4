"""The double-booking check: each reason as staff read it in the alert mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailgate import config
from mailgate.config import ShopSection
from mailgate.shop.calendar import Calendar
from mailgate.shop.clash import Slot, check
from tests.shop.helpers import at, db_calendar, slot, write_shop

# 2026-11-30 Mon, 12/1 Tue (定休日), 12/2 Wed, 12/3 Thu (佐藤 13-20), 12/4 Fri (田中 off), 12/5 Sat.


@pytest.fixture
def cal(tmp_path: Path) -> Calendar:
    return db_calendar(config.load(write_shop(tmp_path)))


def test_a_booking_that_fits_has_no_reasons(cal: Calendar) -> None:
    assert check(cal, slot("佐藤", "2026-12-03", "13:00"), []) == []


def test_an_overlapping_booking_of_the_same_staff_member_is_named(cal: Calendar) -> None:
    other = slot("佐藤", "2026-12-03", "13:30", label="STORES 87246999 鈴木花子", id=7)
    assert check(cal, slot("佐藤", "2026-12-03", "13:00", id=8), [other]) == [
        "佐藤さんは 12/3(木) 13:30〜14:30 に別の予約があります（STORES 87246999 鈴木花子）"
    ]


def test_touching_bookings_do_not_overlap(cal: Calendar) -> None:
    before = slot("佐藤", "2026-12-03", "13:00")
    after = slot("佐藤", "2026-12-03", "15:00")
    assert check(cal, slot("佐藤", "2026-12-03", "14:00"), [before, after]) == []


def test_other_staff_bookings_do_not_conflict(cal: Calendar) -> None:
    assert check(cal, slot("佐藤", "2026-12-03", "14:00"), [slot("田中", "2026-12-03", "14:00")]) == []


def test_the_same_person_under_an_alias_does_conflict(cal: Calendar) -> None:
    reasons = check(cal, slot("佐藤", "2026-12-03", "14:00"), [slot("佐藤 先生", "2026-12-03", "14:30")])
    assert reasons == ["佐藤さんは 12/3(木) 14:30〜15:30 に別の予約があります"]


def test_the_booking_itself_among_the_others_is_ignored(cal: Calendar) -> None:
    booking = slot("佐藤", "2026-12-03", "14:00", id=5)
    assert check(cal, booking, [booking]) == []


def test_a_day_off(cal: Calendar) -> None:
    assert check(cal, slot("田中", "2026-12-04", "11:00"), []) == ["田中さんは 12/4(金) 休みです"]
    # 佐藤's usual week has no Saturday.
    assert check(cal, slot("佐藤", "2026-12-05", "11:00"), []) == ["佐藤さんは 12/5(土) 休みです"]


def test_outside_the_shift_but_inside_the_shop_hours(cal: Calendar) -> None:
    assert check(cal, slot("佐藤", "2026-12-02", "15:30"), []) == ["佐藤さんの勤務時間外です（10:00〜16:00）"]
    assert check(cal, slot("佐藤", "2026-12-02", "15:00"), []) == []


def test_a_dated_row_overrides_the_usual_week(cal: Calendar) -> None:
    # Thursdays are 10-16, but on 12/3 佐藤 works 13-20.
    assert check(cal, slot("佐藤", "2026-12-03", "10:00"), []) == ["佐藤さんの勤務時間外です（13:00〜20:00）"]
    assert check(cal, slot("佐藤", "2026-12-03", "19:00"), []) == []
    assert check(cal, slot("佐藤", "2026-12-10", "10:00"), []) == []


def test_the_shops_closed_weekday_and_holidays(cal: Calendar) -> None:
    assert check(cal, slot("田中", "2026-12-01", "11:00"), []) == ["12/1(火) は定休日です"]
    # A holiday on a Thursday, in 佐藤's usual week: the shop's reason says it all.
    assert check(cal, slot("佐藤", "2026-12-31", "11:00"), []) == ["12/31(木) は休業日です"]
    assert check(cal, slot(None, "2026-12-31", "11:00"), []) == ["12/31(木) は休業日です"]


def test_a_booking_running_past_closing_time(cal: Calendar) -> None:
    # 田中 works the shop's hours, so one reason, not two.
    assert check(cal, slot("田中", "2026-11-30", "19:30"), []) == ["営業時間外です（10:00〜20:00）"]
    assert check(cal, slot("田中", "2026-12-05", "17:30"), []) == ["営業時間外です（10:00〜18:00）"]
    assert check(cal, slot("田中", "2026-11-30", "09:30"), []) == ["営業時間外です（10:00〜20:00）"]
    assert check(cal, slot("田中", "2026-11-30", "19:00"), []) == []


def test_outside_the_hours_and_the_shift_gives_both(cal: Calendar) -> None:
    assert check(cal, slot("佐藤", "2026-11-30", "19:30"), []) == [
        "営業時間外です（10:00〜20:00）",
        "佐藤さんの勤務時間外です（10:00〜16:00）",
    ]


def test_unknown_staff_is_flagged_and_still_checked_for_overlaps(cal: Calendar) -> None:
    other = slot("山本", "2026-11-30", "11:30", label="SALON BOARD BE123 高橋")
    assert check(cal, slot("山本", "2026-11-30", "11:00"), [other]) == [
        "担当スタッフ「山本」は登録されていません",
        "山本さんは 11/30(月) 11:30〜12:30 に別の予約があります（SALON BOARD BE123 高橋）",
    ]


def test_no_staff_booking_fits_while_one_working_staff_member_is_free(cal: Calendar) -> None:
    booking = slot(None, "2026-11-30", "11:00")
    assert check(cal, booking, [slot("佐藤", "2026-11-30", "11:00")]) == []
    assert check(cal, slot("", "2026-11-30", "11:00"), [slot("田中", "2026-11-30", "10:30")]) == []


def test_no_staff_booking_when_everyone_working_is_busy(cal: Calendar) -> None:
    busy = [slot("佐藤", "2026-11-30", "11:00"), slot("たなか", "2026-11-30", "10:30")]
    assert check(cal, slot(None, "2026-11-30", "11:00"), busy) == ["空いているスタッフがいません"]
    # Saturday: 佐藤 is off, so 田中 alone is everyone.
    assert check(cal, slot(None, "2026-12-05", "11:00"), [slot("田中", "2026-12-05", "11:30")]) == [
        "空いているスタッフがいません"
    ]
    # 佐藤 is free at 16:30 but no longer working (10-16).
    assert check(cal, slot(None, "2026-11-30", "16:30"), [slot("田中", "2026-11-30", "16:00")]) == [
        "空いているスタッフがいません"
    ]


def test_no_staff_bookings_at_the_same_time_each_need_someone(cal: Calendar) -> None:
    booking = slot(None, "2026-11-30", "11:00")
    one = [slot(None, "2026-11-30", "11:00")]
    two_at_once = [*one, slot(None, "2026-11-30", "11:30")]
    one_after_another = [slot(None, "2026-11-30", "10:15"), slot(None, "2026-11-30", "11:30")]
    assert check(cal, booking, one) == []
    assert check(cal, booking, two_at_once) == ["空いているスタッフがいません"]
    assert check(cal, booking, one_after_another) == []


def test_no_staff_booking_outside_hours_gives_only_the_hours(cal: Calendar) -> None:
    assert check(cal, slot(None, "2026-11-30", "19:30"), []) == ["営業時間外です（10:00〜20:00）"]
    assert check(cal, slot(None, "2026-12-01", "11:00"), []) == ["12/1(火) は定休日です"]


def test_utc_times_are_checked_against_the_shops_local_hours(cal: Calendar) -> None:
    def utc_slot(staff: str | None, *args: int) -> Slot:
        start = datetime(*args, tzinfo=UTC)  # type: ignore[misc]
        return Slot(staff=staff, start=start, end=start + timedelta(hours=1), label="STORES 1")

    # 01:00 UTC = 10:00 in Tokyo (open); 00:30 UTC = 9:30 (not yet).
    assert check(cal, utc_slot("田中", 2026, 11, 30, 1, 0), []) == []
    assert check(cal, utc_slot("田中", 2026, 11, 30, 0, 30), []) == ["営業時間外です（10:00〜20:00）"]
    # Monday 16:00 UTC is Tuesday 01:00 in Tokyo: the shop's Tuesday counts.
    assert check(cal, utc_slot("田中", 2026, 11, 30, 16, 0), []) == ["12/1(火) は定休日です"]
    # The other booking's times are shown in the shop's time zone.
    other = utc_slot("佐藤", 2026, 12, 3, 4, 30)
    assert check(cal, slot("佐藤", "2026-12-03", "13:00"), [other]) == [
        "佐藤さんは 12/3(木) 13:30〜14:30 に別の予約があります（STORES 1）"
    ]


def test_naive_datetimes_are_utc_as_sqlite_returns_them(cal: Calendar) -> None:
    naive = Slot(staff="佐藤", start=datetime(2026, 12, 3, 4, 30), end=datetime(2026, 12, 3, 5, 30))
    assert naive.start == at("2026-12-03", "13:30")
    assert check(cal, slot("佐藤", "2026-12-03", "13:00"), [naive]) != []


def test_a_slot_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end after"):
        Slot(staff="佐藤", start=at("2026-12-03", "13:00"), end=at("2026-12-03", "13:00"))


def test_with_no_staff_configured_only_hours_and_same_name_overlaps_count() -> None:
    cal = Calendar.build(ShopSection())
    other = slot("山本 ", "2026-12-01", "03:30", label="STORES 2")
    assert check(cal, slot("山本", "2026-12-01", "03:00"), [other]) == [
        "山本さんは 12/1(火) 03:30〜04:30 に別の予約があります（STORES 2）"
    ]
    assert check(cal, slot(None, "2026-12-01", "03:00"), [other, slot(None, "2026-12-01", "03:00")]) == []
