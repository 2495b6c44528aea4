"""Reading what a customer writes to the booking address: days, parts of the day, menus and staff as
people write them in Japanese (full-width digits, kanji dates, 来週火曜), a number in reply, キャンセル."""

from __future__ import annotations

from datetime import date, time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailgate.rules.ja.requests import (
    MAX_CHARS,
    Request,
    Words,
    own_words,
    read_request,
    reply_number,
    wants_cancel,
)
from mailgate.times import name_key

TODAY = date(2026, 11, 25)  # a Wednesday
MENUS = [("整体 60分コース", ["整体60分"]), ("整体 90分コース", ["整体90分"]), ("骨盤矯正", [])]
STAFF = {name_key(t): n for n, aliases in [("佐藤", ["さとう", "Sato"]), ("田中", [])] for t in (n, *aliases)}


def read(text: str, subject: str = "") -> Request:
    return read_request(own_words(text, subject, "【テスト整体院】"), TODAY, MENUS, STAFF)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("12/5", date(2026, 12, 5)),
        ("１２／５", date(2026, 12, 5)),
        ("12月5日", date(2026, 12, 5)),
        ("１２月　５日", date(2026, 12, 5)),
        ("2026/12/5", date(2026, 12, 5)),
        ("2026年12月5日(土)", date(2026, 12, 5)),
        ("5日", date(2026, 12, 5)),  # the 5th of this month is past: next month's
        ("28日", date(2026, 11, 28)),
        ("1/5", date(2027, 1, 5)),  # in November, January is next year's
        ("今日", TODAY),
        ("明日", date(2026, 11, 26)),
        ("あした", date(2026, 11, 26)),
        ("明後日", date(2026, 11, 27)),
        ("金曜", date(2026, 11, 27)),
        ("水曜日", TODAY),
        ("来週火曜", date(2026, 12, 1)),
        ("来週の火曜日", date(2026, 12, 1)),
        ("再来週月曜", date(2026, 12, 7)),
        ("今週土曜", date(2026, 11, 28)),
    ],
)
def test_a_day_written_any_usual_way(text: str, day: date) -> None:
    request = read(text)
    assert (request.day, request.problems) == (day, ())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2/30", ("no_such_date", "2/30")),
        ("11/20", ("past", "11/20")),
        ("2026/11/1", ("past", "2026/11/1")),
        ("今週月曜", ("past", "今週月曜")),
        ("31日", ("no_such_date", "31日")),  # November has no 31st, and the 31st of December is too far
    ],
)
def test_a_day_that_cannot_be_booked_is_a_problem_to_explain_not_a_guess(
    text: str, problem: tuple[str, str]
) -> None:
    request = read(text)
    assert request.day is None and request.problems == (problem,)


@pytest.mark.parametrize(
    ("text", "after", "before"),
    [
        ("午前", None, time(12)),
        ("午前中", None, time(12)),
        ("午後", time(12), None),
        ("夕方", time(17), None),
        ("15時以降", time(15), None),
        ("１５時から", time(15), None),
        ("午後3時", time(15), None),
        ("14:30まで", None, time(14, 30)),
        ("10時半", time(10, 30), None),
        ("午後 16時まで", time(12), time(16)),
    ],
)
def test_a_part_of_the_day_or_a_time(text: str, after: time | None, before: time | None) -> None:
    request = read(text)
    assert (request.after, request.before, request.problems) == (after, before, ())


def test_the_example_of_the_issue_reads_in_full() -> None:
    request = read("12/5 午後 整体")
    assert (request.day, request.after, request.menu) == (date(2026, 12, 5), time(12), "整体 60分コース")
    assert request.menu_alternatives == ("整体 90分コース",) and request.problems == ()


@pytest.mark.parametrize(
    ("text", "menu", "staff"),
    [
        ("整体90分", "整体 90分コース", None),
        ("整体 90分", "整体 90分コース", None),
        ("ｾｲﾀｲ60分", None, None),  # half-width kana of a name the shop writes in kanji: not that name
        ("骨盤矯正でお願いします", "骨盤矯正", None),
        ("骨盤 さとう先生", "骨盤矯正", "佐藤"),
        ("佐藤さん指名で", None, "佐藤"),
        ("SATO", None, "佐藤"),
        ("田中先生 12/5", None, "田中"),
    ],
)
def test_menus_and_staff_by_the_names_the_shop_gave_them(
    text: str, menu: str | None, staff: str | None
) -> None:
    request = read(text)
    assert (request.menu, request.staff) == (menu, staff)


def test_words_that_ask_for_nothing_are_no_problem_and_others_are_quoted_back() -> None:
    assert read("予約お願いします").problems == ()
    assert read("").problems == () and read("").day is None
    assert read("マッサージ 12/5").problems == (("unread", "マッサージ"),)


def test_only_the_customers_own_first_words_are_read() -> None:
    body = "12/5 午後\n\n> 1. 11/26(木) 10:00\n-- \ndocomo携帯から送信\n"
    assert (
        own_words(body, "Re: 【テスト整体院】ご予約の空き時間のご案内", "【テスト整体院】").text
        == "12/5 午後"
    )
    assert (
        own_words("", "１２／５　整体", "【テスト整体院】").text == "12/5 整体"
    )  # a phone writes in the subject
    long = own_words("12/5 " + "あ" * 50_000, "", "【x】")
    assert len(long.text) == MAX_CHARS


@pytest.mark.parametrize(
    ("first", "number"),
    [
        ("3", 3),
        ("３", 3),
        ("3番", 3),
        ("３番でお願いします", 3),
        ("3 お願いします", 3),
        ("No.3", 3),
        ("①", 1),
        ("3日", None),
        ("3時", None),
        ("3/5", None),
        ("10", None),
        ("10:00", None),
        ("0", None),
        ("整体", None),
    ],
)
def test_a_number_in_reply_is_one_digit_not_a_day_or_a_time(first: str, number: int | None) -> None:
    assert reply_number(Words(first, first)) == number


@pytest.mark.parametrize(
    ("text", "cancel"),
    [
        ("キャンセル", True),
        ("ｷｬﾝｾﾙします", True),
        ("予約を取り消したい", True),
        ("取消", True),
        ("12/5 午後", False),
        ("12/5 キャンセル待ちできますか", False),
    ],
)
def test_kyanseru_in_any_width(text: str, cancel: bool) -> None:
    assert wants_cancel(own_words(text, "", "【x】")) is cancel


@given(st.text(max_size=2000))
def test_any_text_reads_to_a_request_without_an_error(text: str) -> None:
    request = read(text, text[:50])
    assert request.day is None or request.day >= TODAY
    assert len(request.said) <= MAX_CHARS


@pytest.mark.parametrize(
    "body",
    [
        "12/5 " + "x" * 1_000_000,  # a 1 MB body
        " " * 50_000 + "12/5",
        "\u3000" * 50_000,
        "1" * 50_000,
        "12/" * 20_000,
        "午後" * 30_000,
        ("1 " * 25_000) + "番",
        "\n".join(["> 1. 12/5(土) 10:00"] * 30_000),
    ],
    ids=["1MB", "spaces", "ideographic-spaces", "digits", "slashes", "parts", "numbers", "quotes"],
)
def test_hostile_bodies_read_only_their_first_bounded_words(body: str) -> None:
    words = own_words(body, body[:100_000], "【x】")
    assert len(words.text) <= MAX_CHARS and len(words.first) <= MAX_CHARS
    request = read_request(words, TODAY, MENUS, STAFF)
    assert len(request.said) <= MAX_CHARS
    assert reply_number(words) in (None, *range(1, 10))
    assert wants_cancel(words) is False


def test_a_long_run_of_digits_is_no_number_and_no_day() -> None:
    words = own_words("1" * 50_000, "", "【x】")
    assert reply_number(words) is None and read_request(words, TODAY, MENUS, STAFF).day is None
