"""When a booking is: its date and time range, read from the many ways vendors write them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from mailgate.rules.ja.values import FieldError, nfkc, quote

# All on NFKC text: full-width digits, colons and parens are ASCII by then; 〜 (U+301C) survives NFKC.
_DATE_Y = re.compile(
    r"(?<![0-9])([0-9]{4})\s*[年/.\-]\s*([0-9]{1,2})\s*[月/.\-]\s*([0-9]{1,2})(?![0-9])\s*日?"
)
_DATE_R = re.compile(
    r"(?:令和|R)\s*([0-9]{1,2}|元)\s*[年/.]\s*([0-9]{1,2})\s*[月/.]\s*([0-9]{1,2})(?![0-9])\s*日?"
)
_DATE_MD = re.compile(r"(?<![0-9/])([0-9]{1,2})\s*(?:月\s*([0-9]{1,2})\s*日|/\s*([0-9]{1,2})(?![0-9/]))")
_WEEKDAY = re.compile(r"\s*\(\s*([^()]{1,8})\)")
_WEEKDAYS = "月火水木金土日"
# Spaces are matched only after a mark or a digit: a search that could start on a space would rescan
# a long run of them from every position (0.73 s at 8,000 spaces).
_TIME = re.compile(
    r"(?:(?P<mer>午前|午後|AM|PM|am|pm)\s*+)?(?<![0-9])(?P<h>[0-9]{1,2})\s*"
    r"(?::\s*(?P<m>[0-9]{2})(?::[0-9]{2})?|時(?!間)\s*(?:(?P<m2>[0-9]{1,2})\s*分|(?P<half>半))?)"
    r"(?![0-9])(?:\s*(?P<mer2>AM|PM|am|pm)\b)?"
)
# Range marks between two times; ー (long vowel) counts only here, between times.
_RANGE = re.compile(r"\s*(?:[~〜∼\-−–—‐‑―ー]|から|to)\s*")
_SPACES = re.compile(r"\s*+")


def _after_spaces(text: str, pos: int) -> int:
    m = _SPACES.match(text, pos)
    return m.end() if m else pos


@dataclass(frozen=True)
class _Date:
    day: date
    end: int  # index in the text just after the date (and its weekday)


def _reiwa(year: str) -> int:
    return 2018 + (1 if year == "元" else int(year))


def _make_date(y: int, m: int, d: int, text: str) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise FieldError(f"no such date {y:04d}-{m:02d}-{d:02d} in {quote(text)}") from None


def _infer_year(month: int, day: int, reference: date, text: str) -> date:
    # The first such date not more than ~2 months before the mail:
    # a December notice about 1月5日 is about next year.
    earliest = reference - timedelta(days=62)
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= earliest:
            return candidate
    raise FieldError(f"no such date {month}月{day}日 in {quote(text)}")


def _find_date(text: str, pos: int, reference: date, anchored: bool = False) -> _Date | None:
    """The first date at or after pos (earliest start wins; a dated form beats a year-less one).

    anchored: only a date starting at pos (after spaces), for the end of "12:00～2026/12/05 13:00".
    """
    found: list[tuple[int, int, re.Match[str]]] = []
    if anchored:
        pos = _after_spaces(text, pos)
    for rank, pattern in enumerate((_DATE_Y, _DATE_R, _DATE_MD)):
        m = pattern.match(text, pos) if anchored else pattern.search(text, pos)
        if m:
            found.append((m.start(), rank, m))
    if not found:
        return None
    _, rank, m = min(found, key=lambda f: (f[0], f[1]))
    if rank == 0:
        day = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    elif rank == 1:
        day = _make_date(_reiwa(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    else:
        month, dom = int(m.group(1)), int(m.group(2) or m.group(3))
        day = _infer_year(month, dom, reference, text)
    end = m.end()
    wd = _WEEKDAY.match(text, end)
    if wd:
        end = wd.end()
        mark = wd.group(1).strip()[:1]
        # A weekday that disagrees with the date means the date was misread: better to stop than book it.
        if mark in _WEEKDAYS and _WEEKDAYS[day.weekday()] != mark:
            raise FieldError(f"weekday ({mark}) does not match {day.isoformat()} in {quote(text)}")
    return _Date(day, end)


@dataclass(frozen=True)
class _Time:
    hour: int
    minute: int
    meridiem: bool  # written with 午前/午後 (AM/PM)
    end: int


def _read_time(m: re.Match[str], text: str) -> _Time:
    hour = int(m.group("h"))
    minute = int(m.group("m") or m.group("m2") or (30 if m.group("half") else 0))
    mer = (m.group("mer") or m.group("mer2") or "").upper()
    if mer:
        if hour > 12:
            raise FieldError(f"hour {hour} after 午前/午後 in {quote(text)}")
        # 12 with 午前/午後 is noon: a salon is not open at midnight.
        if mer in ("午後", "PM") and hour < 12:
            hour += 12
    if hour > 23 or minute > 59:
        raise FieldError(f"no such time {hour}:{minute:02d} in {quote(text)}")
    return _Time(hour, minute, bool(mer), m.end())


def datetime_range(lines: list[str], tz: tzinfo, reference: datetime) -> tuple[datetime, datetime | None]:
    """Start and end (None when the notice gives no end) as aware datetimes in tz.

    Reads "2026年12月03日 (木) 13:00 ~ 14:00", "2026/12/05(土) 12:00～13:00", "12月5日(土) 9:00-10:30",
    "13時30分〜14時", "午後1時から3時", full-width forms too. A date without a year is the first such date not
    more than ~2 months before `reference` (the mail's Date). A weekday that contradicts the date, an end on
    another day, an end not after the start, and times like 24:00 raise FieldError.
    """
    text = nfkc(" ".join(lines))
    ref = reference.astimezone(tz) if reference.tzinfo else reference
    found = _find_date(text, 0, ref.date())
    if found is None:
        raise FieldError(f"no date in {quote(text)}")
    m = _TIME.search(text, found.end)
    if m is None:
        raise FieldError(f"no time range in {quote(text)}")
    start_t = _read_time(m, text)
    start = datetime(found.day.year, found.day.month, found.day.day, start_t.hour, start_t.minute, tzinfo=tz)
    sep = _RANGE.match(text, start_t.end)
    if sep is None:
        return start, None
    pos = sep.end()
    end_day = found.day
    dated = _find_date(text, pos, ref.date(), anchored=True)
    if dated is not None:  # "12:00～2026/12/05(土) 13:00": the end may repeat the date
        end_day, pos = dated.day, dated.end
    em = _TIME.match(text, _after_spaces(text, pos))
    if em is None:
        return start, None
    end_t = _read_time(em, text)
    hour = end_t.hour
    # "午後1時〜3時": the end takes the start's 午後 when read bare it would come first.
    bare = start_t.meridiem and not end_t.meridiem
    if bare and hour < 12 and (hour, end_t.minute) <= (start.hour, start.minute):
        hour += 12
    end = datetime(end_day.year, end_day.month, end_day.day, hour, end_t.minute, tzinfo=tz)
    if end_day != found.day:
        raise FieldError(f"end on another day than the start in {quote(text)}")
    if end <= start:
        raise FieldError(f"end not after start in {quote(text)}")
    return start, end
