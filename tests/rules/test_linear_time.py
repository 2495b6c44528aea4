"""Every pattern rules/ runs on a notice's text takes time linear in it: each one gets a long input
aimed at where a backtracking engine would rescan, under a CPU-limit hang guard (tests/hang_guard.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailgate.rules.blocks import label_key, labelled, split_sections
from mailgate.rules.ja.inquiry import inquiry_kind
from mailgate.rules.ja.parsers import PARSERS, ParseContext
from tests.hang_guard import finishes

N = 100_000
TOKYO = ZoneInfo("Asia/Tokyo")
_CTX = ParseContext(TOKYO, datetime(2026, 11, 1, tzinfo=TOKYO))


def _parser(name: str) -> Callable[[str], Any]:
    def run(text: str) -> Any:
        return PARSERS[name](text.split("\n"), _CTX)

    return run


CASES: list[tuple[str, Callable[..., Any], str]] = [
    # dates.py: the date patterns took 0.73 s at 8,000 spaces
    ("dates: spaces after a date, no time", _parser("datetime_range"), "2026年12月3日" + " " * N + "x"),
    ("dates: lines of spaces after a date", _parser("datetime_range"), "2026年12月3日" + " \n" * N),
    ("dates: full-width spaces", _parser("datetime_range"), "2026年12月3日" + "\u3000" * N + "x"),
    ("dates: a year and spaces", _parser("datetime_range"), ("2026" + " " * 50) * (N // 50)),
    ("dates: a month and spaces", _parser("datetime_range"), ("12" + " " * 50) * (N // 50)),
    ("dates: 令和 and spaces", _parser("datetime_range"), "令和" + " " * N),
    ("dates: weekday parentheses", _parser("datetime_range"), "2026年12月3日" + "(" * N),
    (
        "dates: 午後 and spaces",
        _parser("datetime_range"),
        "2026年12月3日 13:00" + ("午後" + " " * 49) * (N // 50),
    ),
    ("dates: range marks", _parser("datetime_range"), "2026年12月3日 13:00" + " ~" * N),
    # contact.py: names, readings, addresses and phone numbers
    ("contact: spaces before no honorific", _parser("name"), "山田" + " " * N + "x"),
    ("contact: spaces before a reading", _parser("person"), "山田" + " " * N + "x(ヤマダ)"),
    ("contact: '@' repeated", _parser("email"), "@" * N),
    ("contact: 'a@' repeated", _parser("email"), "1" + "a@" * N + "x"),
    ("contact: a local part run", _parser("email"), "a" * N + "@"),
    ("contact: a domain of dots", _parser("email"), "a@" + "a." * N),
    ("contact: phone punctuation", _parser("phone"), "0" + "-" * N),
    ("contact: phone digits and spaces", _parser("phone"), "0 " * N + "x"),
    ("contact: parentheses", _parser("person"), "(" * N + ")"),
    ("contact: kana and spaces", _parser("kana"), "ヤマダ" + " " * N + "x"),
    ("contact: a contact label and spaces", _parser("person"), "TEL" + " " * N + "x"),
    # booking.py: reservation numbers, durations, staff
    ("booking: a dash run as the staff", _parser("staff"), "-" * N + "x"),
    ("booking: なし repeated as the staff", _parser("staff"), "なし" * N + "x"),
    ("booking: a duration and spaces", _parser("duration"), "所要" + "1" + " " * N + "x"),
    ("booking: duration brackets", _parser("duration"), "(" * N + "60分x"),
    ("booking: a menu of digits", _parser("menu"), "1 " * N),
    ("booking: a long reservation number", _parser("reservation_id"), "A" * N + "!"),
    # inquiry.py and blocks.py
    ("inquiry: digits and spaces", inquiry_kind, ("1" + " " * 50) * (N // 50) + "予約"),
    ("blocks: brackets never closed", labelled, "【" * N),
    ("blocks: a long label line", labelled, "◆" + "予" * N + ":\n  x"),
    ("blocks: a bracketed label key", label_key, "【" + "予" * N),
    ("blocks: a long marker line", lambda t: split_sections(t, {"a": ["[ 変更後 ]"]}), "[" + " " * N),
]


@pytest.mark.parametrize(("fn", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_notice_text_is_read_in_linear_time(fn: Callable[..., Any], text: str) -> None:
    assert finishes(fn, text)
