"""Parsing and printing the times and days people write in the config and the shift table."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time

import jaconv

# Config keys and the weekday column of the shift table; index = date.weekday().
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS_JA = "月火水木金土日"
CLOSED_WORDS = frozenset({"closed", "off", "休", "休み", "定休日", "休業"})

Span = tuple[time, time]

# Seconds are allowed (":00") because spreadsheets write them when they re-save a CSV.
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")
# "-" plus the wave dashes people use between times (after NFKC, ～ is "~"; 〜 stays).
_SPAN = re.compile(r"^\s*(\S+?)\s*[-~\u301c]\s*(\S+)\s*$")
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")


def parse_date(text: str) -> date | None:
    """2026-12-03, or 2026/12/3 as spreadsheets write it; None if it is not a date, or not one of the
    years 2000-2199 (days around a date are reckoned with: near year 1 or 9999 that overflows)."""
    m = _DATE.match(unicodedata.normalize("NFKC", text).strip())
    if not m or not 2000 <= int(m.group(1)) <= 2199:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def parse_time(text: str) -> time | None:
    """ "9:30" or "09:30" (NFKC, so full-width digits work); None if it is not a time of day."""
    m = _TIME.match(unicodedata.normalize("NFKC", text).strip())
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parse_span(text: str) -> Span | None:
    """ "10:00-20:00" -> (10:00, 20:00); "22:00-02:00" runs past midnight. ValueError when it is not
    a span or ends where it starts."""
    m = _SPAN.match(unicodedata.normalize("NFKC", text))
    start, end = (parse_time(m.group(1)), parse_time(m.group(2))) if m else (None, None)
    if start is None or end is None:
        raise ValueError("HH:MM-HH:MM")
    if end == start:
        raise ValueError("an end other than the start")
    return start, end


def is_closed_word(text: str) -> bool:
    return unicodedata.normalize("NFKC", text).strip().lower() in CLOSED_WORDS


def parse_hours(text: str) -> Span | None:
    """A `[shop] hours` value: a span, or None for "closed"."""
    return None if is_closed_word(text) else parse_span(text)


_LONG_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_NAMES = {w: i for names in (WEEKDAYS, _LONG_WEEKDAYS) for i, w in enumerate(names)}


def weekday_index(text: str) -> int | None:
    """ "mon" or "Monday" -> 0; None for anything else."""
    return _WEEKDAY_NAMES.get(unicodedata.normalize("NFKC", text).strip().lower())


def name_key(text: str) -> str:
    """How names compare: NFKC, no spaces, case-folded, hiragana as katakana ("さとう" == "サトウ")."""
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()
    return jaconv.hira2kata(folded)


def fmt_day(day: date) -> str:
    """12/3(木): how staff write a day."""
    return f"{day.month}/{day.day}({WEEKDAYS_JA[day.weekday()]})"


def fmt_span(span: Span) -> str:
    return f"{span[0].strftime('%H:%M')}〜{span[1].strftime('%H:%M')}"


def fmt_span_ascii(span: Span) -> str:
    """The shift-table and CLI form: 10:00-16:00."""
    return f"{span[0].strftime('%H:%M')}-{span[1].strftime('%H:%M')}"
