"""What `mailgate shifts check` reports: people working when the shop is closed or beyond its hours."""

from __future__ import annotations

from datetime import date, timedelta

from mailgate.shop.calendar import ALL_DAY, Calendar
from mailgate.times import fmt_span_ascii


def outside_hours(cal: Calendar, first: date, days: int) -> list[str]:
    """One line per person and day in [first, first + days) whose shift the shop's hours do not hold."""
    problems = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        opening = cal.opening(day)
        for name in cal.staff:
            span = cal.shift(name, day)
            if span is None or span == opening or opening == ALL_DAY:
                continue
            if opening is None:
                problems.append(f"{day} {name} {fmt_span_ascii(span)}: the shop is closed that day")
                continue
            (lo, hi), (start, end) = cal.bounds(day, opening), cal.bounds(day, span)
            if start < lo or end > hi:
                problems.append(
                    f"{day} {name} {fmt_span_ascii(span)}: beyond the shop's hours {fmt_span_ascii(opening)}"
                )
    return problems
