"""Until when a customer may book, change or cancel by link or mail, as shops say it: "until the start",
"90 minutes before", "2 hours before", "the day before at 18:00" (前日18時まで). Later than that, the
answer gives the shop's phone number."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_RULE = re.compile(r"^(?:(0)|(\d{1,4})m|(\d{1,3})h|(\d{1,2})d(?:(\d{1,2}):(\d{2}))?)$")


def check(rule: str) -> str:
    """The rule as given, or ValueError saying what a rule looks like."""
    latest(rule, datetime(2026, 1, 1, 12, tzinfo=ZoneInfo("UTC")), ZoneInfo("UTC"))
    return rule


def latest(rule: str, start: datetime, tz: ZoneInfo) -> datetime:
    """The last moment the action is allowed for a booking starting at `start`."""
    m = _RULE.match(rule.strip())
    if not m:
        raise ValueError('"0" (until the start), "90m", "2h", "1d" or "1d18:00" (the day before at 18:00)')
    whole, minutes, hours, days, hh, mm = m.groups()
    if whole is not None:
        return start
    if minutes is not None:
        return start - timedelta(minutes=int(minutes))
    if hours is not None:
        return start - timedelta(hours=int(hours))
    local = start.astimezone(tz)
    if hh is None:
        return start - timedelta(days=int(days))
    at = time(int(hh), int(mm))  # ValueError for 25:00
    return datetime.combine(local.date() - timedelta(days=int(days)), at, tzinfo=tz)


def describe(rule: str) -> str:
    """The rule in the customer's words (Japanese), for a refusal."""
    m = _RULE.match(rule.strip())
    if not m or m.group(1) is not None:
        return "開始時刻まで"
    _, minutes, hours, days, hh, mm = m.groups()
    if minutes is not None:
        return f"開始{minutes}分前まで"
    if hours is not None:
        return f"開始{hours}時間前まで"
    day = {"1": "前日", "2": "前々日"}.get(days or "", f"{days}日前")
    return f"{day}{int(hh)}:{mm}まで" if hh else f"{day}の同じ時刻まで"
