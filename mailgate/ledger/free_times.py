"""Free times to show (a page's day or week, a mail's list): the offers of one menu on some shop days,
from one read of the bookings that hold seats in those days. The read is a range of the index on the
bookings' start (fit_rules.busy_between), so its cost follows the days asked, not the ledger's size."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from mailgate.ledger.fit_rules import CUSTOMER, LONGEST, busy_between, taken_seats
from mailgate.shop.availability import Offer, offers
from mailgate.shop.calendar import Calendar, Menu


def on_day(
    session: Session,
    cal: Calendar,
    menu: Menu,
    day: date,
    *,
    now: datetime,
    staff: str | None = None,
    policy: str = CUSTOMER,
) -> list[Offer]:
    """The bookable times of `menu` on the shop's `day`; `staff` a canonical name or None (anyone)."""
    return on_days(session, cal, menu, [day], now=now, staff=staff, policy=policy)[day]


def on_days(
    session: Session,
    cal: Calendar,
    menu: Menu,
    days: Sequence[date],
    *,
    now: datetime,
    staff: str | None = None,
    policy: str = CUSTOMER,
    but: int | None = None,
) -> dict[date, list[Offer]]:
    """The same for several days (a week), with one read of the bookings; `but`: a booking being
    moved, whose own time counts as free."""
    found: dict[date, list[Offer]] = {day: [] for day in days}
    if menu.kind == "slots":
        slots = [f.id for f in cal.fixed if f.menu == menu.name and cal.local(f.start).date() in found]
        taken = taken_seats(session, slots, but=but)
        for day in found:
            found[day] = offers(
                cal, menu, day, (), now=now, staff=staff, taken_seats=taken, for_customer=policy == CUSTOMER
            )
        return found
    windows = {day: window(cal, menu, day) for day in found}
    spans = [w for w in windows.values() if w is not None]
    if not spans:
        return found
    busy = sorted(
        busy_between(session, cal, min(lo for lo, _ in spans), max(hi for _, hi in spans), but=but),
        key=lambda b: b.start,
    )
    starts = [b.start for b in busy]
    reach = LONGEST + timedelta(minutes=max((m.buffer for m in cal.menus), default=0))
    for day, span in windows.items():
        if span is not None:  # those starting from a day (and a buffer) before, to the window's end
            near = busy[bisect.bisect_left(starts, span[0] - reach) : bisect.bisect_left(starts, span[1])]
            mine = [b for b in near if b.end > span[0]]
            found[day] = offers(cal, menu, day, mine, now=now, staff=staff, for_customer=policy == CUSTOMER)
    return found


def nearest(
    session: Session,
    cal: Calendar,
    menu: Menu,
    at: datetime,
    *,
    now: datetime,
    staff: str | None = None,
    policy: str = CUSTOMER,
    but: int | None = None,
    count: int = 5,
    around: int = 3,
) -> list[Offer]:
    """The `count` free times closest to `at` (before or after it, none in the past), from the
    shop days `around` days either side: what to offer when `at` itself is taken."""
    day = cal.local(at).date()
    first = max(day - timedelta(days=around), cal.local(now).date())
    days = [first + timedelta(days=i) for i in range((day - first).days + around + 1)]
    found = on_days(session, cal, menu, days, now=now, staff=staff, policy=policy, but=but)
    later = [o for offered in found.values() for o in offered if o.start >= now]
    return sorted(later, key=lambda o: (abs(o.start - at), o.start))[:count]


@dataclass(frozen=True)
class Wanted:
    """What a customer asked for in a mail: from which day, which part of the day, whom."""

    first_day: date | None = None  # None: today
    after: time | None = None  # starts at or after (the shop's time)
    before: time | None = None  # starts before
    staff: str | None = None  # canonical name; None: anyone


WEEK = 7


def earliest(
    session: Session, cal: Calendar, menu: Menu, wanted: Wanted, now: datetime, limit: int
) -> list[Offer]:
    """The earliest `limit` free times from the day wanted (or today), however many days ahead that
    takes up to the menu's ahead_days: a week of bookings read at a time."""
    today = cal.local(now).date()
    day = max(wanted.first_day or today, today)
    last = today + timedelta(days=menu.ahead_days)
    found: list[Offer] = []
    while day <= last and len(found) < limit:
        days = [day + timedelta(days=i) for i in range(min(WEEK, (last - day).days + 1))]
        for offered in on_days(session, cal, menu, days, now=now, staff=wanted.staff).values():
            found += [o for o in offered if _in_window(cal, o.start, wanted)][: limit - len(found)]
        day += timedelta(days=len(days))
    return found


def _in_window(cal: Calendar, start: datetime, wanted: Wanted) -> bool:
    at = cal.local(start).time()
    return (wanted.after is None or at >= wanted.after) and (wanted.before is None or at < wanted.before)


def window(cal: Calendar, menu: Menu, day: date) -> tuple[datetime, datetime] | None:
    """The time whose bookings matter for the day's offers: its opening hours and the menu's buffer
    after closing time; None when the shop is closed."""
    opening = cal.opening(day)
    if opening is None:
        return None
    lo, hi = cal.bounds(day, opening)
    return lo, hi + timedelta(minutes=menu.buffer)
