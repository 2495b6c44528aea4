"""The shop's calendar: names as vendors write them, hours, holidays, and who works when."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest

from mailgate import config
from mailgate.config import ConfigError, ShopSection
from mailgate.shop.calendar import ALL_DAY, Calendar
from mailgate.shop.shifts import ShiftTableError
from tests.conftest import write_config
from tests.shop.helpers import SHIFTS_CSV, SHIFTS_TOML, at, db_calendar, write_shop

MON, TUE, WED, THU, FRI, SAT = (date(2026, 11, 30) + timedelta(days=i) for i in range(6))
HOLIDAY = date(2026, 12, 31)


@pytest.fixture
def cal(tmp_path: Path) -> Calendar:
    return db_calendar(config.load(write_shop(tmp_path)))


@pytest.mark.parametrize(
    "written",
    [
        "佐藤",
        " 佐藤 ",
        "佐藤 先生",
        "佐藤先生",
        "佐藤　先生",
        "さとう",
        "サトウ",
        "ｻﾄｳ",
        "Sato",
        "SATO",
        "ｓａｔｏ",
    ],
)
def test_staff_are_found_by_name_or_alias_whatever_the_width_case_spacing_or_kana(
    cal: Calendar, written: str
) -> None:
    assert cal.staff_named(written) == "佐藤"


def test_a_name_nobody_has_is_not_staff(cal: Calendar) -> None:
    assert cal.staff_named("山本") is None
    assert cal.staff_named("") is None


def test_with_no_staff_configured_names_are_taken_as_written(tmp_path: Path) -> None:
    cal = db_calendar(config.load(write_config(tmp_path)))
    assert cal.staff == ()
    assert cal.staff_named(" 山本 ") == "山本"
    assert cal.staff_named("ＡＢＣ") == "ABC"
    assert cal.staff_named("  ") is None
    assert cal.opening(TUE) == ALL_DAY and not cal.has_hours


@pytest.mark.parametrize(
    ("text", "menu"),
    [
        ("整体 60分コース", "整体 60分コース"),
        ("整体60分コース", "整体 60分コース"),
        ("整体60分", "整体 60分コース"),
        ("【初回】整体 90分コース（指名料込み）", "整体 90分コース"),
        ("骨盤矯正 + 整体60分", "整体 60分コース"),  # the longest contained name wins
        ("整体", None),
        ("カット", None),
        ("", None),
    ],
)
def test_menus_by_name_alias_or_contained_name(cal: Calendar, text: str, menu: str | None) -> None:
    found = cal.menu_named(text)
    assert (found.name if found else None) == menu


def test_durations_come_from_the_menu_or_default_to_an_hour(cal: Calendar) -> None:
    assert cal.duration("骨盤矯正") == timedelta(minutes=45)
    assert cal.duration("整体 90分コース") == timedelta(minutes=90)
    assert cal.duration("カット") == timedelta(minutes=60)
    assert cal.duration(None) == timedelta(minutes=60)


def test_opening_hours_per_weekday_closed_days_and_holidays(cal: Calendar) -> None:
    assert cal.opening(MON) == (time(10), time(20))
    assert cal.opening(SAT) == (time(10), time(18))
    assert cal.opening(TUE) is None
    assert cal.is_holiday(HOLIDAY) and not cal.is_holiday(THU)
    assert cal.opening(HOLIDAY) is None  # a Thursday, but the shop is closed


def test_a_holiday_opens_with_hours_holiday_when_set(tmp_path: Path) -> None:
    cfg = config.load(write_shop(tmp_path, shifts=None))
    shop = cfg.shop.model_copy(update={"hours": cfg.shop.hours.model_copy(update={"holiday": "11:00-15:00"})})
    cal = Calendar.build(shop)
    assert cal.opening(HOLIDAY) == (time(11), time(15))
    assert cal.shift("田中", HOLIDAY) == (time(11), time(15))


def test_the_usual_week_and_dated_rows_that_override_it(cal: Calendar) -> None:
    assert cal.shift("佐藤", MON) == (time(10), time(16))
    assert cal.shift("佐藤", WED) == (time(10), time(16))
    assert cal.shift("佐藤", THU) == (time(13), time(20))  # 12/3 overrides the Thursday row
    assert cal.shift("佐藤", THU + timedelta(days=7)) == (time(10), time(16))
    assert cal.shift("佐藤", SAT) is None  # a usual week without Saturday: off
    assert cal.shift("Sato", FRI) == (time(10), time(16))  # asked by alias


def test_staff_without_a_usual_week_work_the_shop_hours(cal: Calendar) -> None:
    assert cal.shift("田中", MON) == (time(10), time(20))
    assert cal.shift("田中", SAT) == (time(10), time(18))
    assert cal.shift("田中", TUE) is None
    assert cal.shift("田中", FRI) is None  # the dated `off` row


def test_nobody_works_a_holiday_the_shop_is_closed_unless_a_dated_row_says_so(cal: Calendar) -> None:
    assert cal.shift("佐藤", HOLIDAY) is None  # a Thursday in 佐藤's usual week
    assert cal.shift("田中", HOLIDAY) is None


def test_works_compares_aware_datetimes_in_the_shop_time_zone(cal: Calendar) -> None:
    from datetime import UTC, datetime

    # 04:00 UTC is 13:00 in Tokyo: inside 佐藤's 13-20 on 12/3, though 04:00 is not.
    start = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    assert cal.works("佐藤", start, start + timedelta(hours=1))
    assert not cal.works("佐藤", at("2026-12-03", "12:30"), at("2026-12-03", "13:30"))


def test_the_toml_shift_table_means_the_same_as_the_csv(tmp_path: Path) -> None:
    from_csv = db_calendar(config.load(write_shop(tmp_path / "csv")))
    from_toml = db_calendar(
        config.load(write_shop(tmp_path / "toml", shifts="shifts.toml", table=SHIFTS_TOML))
    )
    assert dict(from_toml.shifts) == dict(from_csv.shifts)
    assert len(from_csv.shifts) == 6


def test_a_shift_table_saved_by_excel_in_shift_jis_with_crlf_is_read(tmp_path: Path) -> None:
    raw = SHIFTS_CSV.replace("\n", "\r\n").replace("2026-12-03", "2026/12/3").encode("cp932")
    cal = db_calendar(config.load(write_shop(tmp_path, table=raw)))
    assert cal.shift("佐藤", THU) == (time(13), time(20))


def test_a_utf8_bom_and_a_missing_header_are_fine(tmp_path: Path) -> None:
    table = "\ufeffmon,佐藤,10:00,16:00\n"
    cal = db_calendar(config.load(write_shop(tmp_path, table=table)))
    assert cal.shift("佐藤", MON) == (time(10), time(16))


def test_mistakes_in_the_shift_table_stop_the_calendar_with_file_and_line(tmp_path: Path) -> None:
    table = SHIFTS_CSV + "2026-12-05,山本,10:00,16:00\n2026-12-06,田中,18:00,18:00\n"
    path = write_shop(tmp_path, table=table)
    with pytest.raises(ShiftTableError) as e:
        db_calendar(config.load(path))
    lines = str(e.value).splitlines()
    assert lines == [
        f"{tmp_path / 'shifts.csv'}:9: staff: '山本' is not in [shop] staff (names and aliases)",
        f"{tmp_path / 'shifts.csv'}:10: end 18:00 is the start (an end before it runs past midnight)",
    ]
    assert isinstance(e.value, ConfigError)


def test_a_missing_shift_table_is_reported(tmp_path: Path) -> None:
    path = write_shop(tmp_path, table=None)
    with pytest.raises(ShiftTableError, match=r"shifts\.csv: no such file"):
        db_calendar(config.load(path))


def test_the_default_demo_shop_checks_nothing_it_was_not_told() -> None:
    cal = Calendar.build(ShopSection())
    assert cal.staff == () and cal.menus == () and cal.opening(TUE) == ALL_DAY
    assert str(cal.tz) == "Asia/Tokyo"
