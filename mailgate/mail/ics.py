"""A booking as an iCalendar event (RFC 5545) for the customer's calendar app: wall-clock times with
their TZID (a phone in another zone still shows the shop's time right), one UID per booking, and a
SEQUENCE that grows with every change so the app replaces the old event instead of adding one."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar


def event(
    *,
    uid: str,
    start: datetime,
    end: datetime,
    summary: str,
    tz: ZoneInfo,
    sequence: int = 0,
    location: str = "",
    description: str = "",
    cancelled: bool = False,
    stamp: datetime,
) -> str:
    """The whole VCALENDAR as text (CRLF line ends, folded as RFC 5545 wants)."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//mailgate//booking//JA")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("dtstamp", stamp)
    ev.add("dtstart", start.astimezone(tz))
    ev.add("dtend", end.astimezone(tz))
    ev.add("summary", summary)
    ev.add("sequence", sequence)
    ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if location:
        ev.add("location", location)
    if description:
        ev.add("description", description)
    cal.add_component(ev)
    cal.add_missing_timezones()  # VTIMEZONE for the TZID, so the event reads right anywhere
    return cal.to_ical().decode("utf-8")
