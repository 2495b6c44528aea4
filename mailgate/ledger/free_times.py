"""The earliest free times of a menu from a day on, however many days ahead that takes (up to how
far ahead the menu may be booked): a week of bookings read at a time, each day's times from the pure
availability function."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from mailgate.ledger.fit_rules import busy_on, taken_seats
from mailgate.shop.availability import Offer, offers
from mailgate.shop.calendar import Calendar, Menu

WEEK = 7


@dataclass(frozen=True)
class Wanted:
    first_day: date | None = None  # None: today
    after: time | None = None  # starts at or after (the shop's time)
    before: time | None = None  # starts before
    staff: str | None = None  # canonical name; None: anyone


def earliest(
    session: Session, cal: Calendar, menu: Menu, wanted: Wanted, now: datetime, limit: int
) -> list[Offer]:
    today = cal.local(now).date()
    day = max(wanted.first_day or today, today)
    last = today + timedelta(days=menu.ahead_days)
    slots = [f.id for f in cal.fixed if f.menu == menu.name]
    found: list[Offer] = []
    while day <= last and len(found) < limit:
        upto = min(day + timedelta(days=WEEK - 1), last)
        lo = datetime.combine(day, time.min, cal.tz)
        busy = busy_on(session, cal, lo, datetime.combine(upto, time.max, cal.tz))
        taken = taken_seats(session, slots)
        while day <= upto and len(found) < limit:
            for offer in offers(cal, menu, day, busy, now=now, staff=wanted.staff, taken_seats=taken):
                if _in_window(cal, offer.start, wanted) and len(found) < limit:
                    found.append(offer)
            day += timedelta(days=1)
    return found


def _in_window(cal: Calendar, start: datetime, wanted: Wanted) -> bool:
    at = cal.local(start).time()
    return (wanted.after is None or at >= wanted.after) and (wanted.before is None or at < wanted.before)
