"""Free times to show (a page's day or week, a mail's list): the offers of one menu on some shop days,
from one read of the bookings that hold seats in those days. The read is a range of the index on the
bookings' start (fit_rules.busy_between), so its cost follows the days asked, not the ledger's size."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlmodel import Session

from mailgate.ledger.fit_rules import CUSTOMER, busy_between, taken_seats
from mailgate.shop.availability import Busy, Offer, offers
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
) -> dict[date, list[Offer]]:
    """The same for several days (a week), with one read of the bookings."""
    found: dict[date, list[Offer]] = {day: [] for day in days}
    if menu.kind == "slots":
        slots = [f.id for f in cal.fixed if f.menu == menu.name and cal.local(f.start).date() in found]
        taken = taken_seats(session, slots)
        for day in found:
            found[day] = offers(
                cal, menu, day, (), now=now, staff=staff, taken_seats=taken, for_customer=policy == CUSTOMER
            )
        return found
    windows = {day: window(cal, menu, day) for day in found}
    spans = [w for w in windows.values() if w is not None]
    if not spans:
        return found
    busy = busy_between(session, cal, min(lo for lo, _ in spans), max(hi for _, hi in spans))
    for day, span in windows.items():
        if span is not None:
            mine = [b for b in busy if _overlaps(b, span)]
            found[day] = offers(cal, menu, day, mine, now=now, staff=staff, for_customer=policy == CUSTOMER)
    return found


def window(cal: Calendar, menu: Menu, day: date) -> tuple[datetime, datetime] | None:
    """The time whose bookings matter for the day's offers: its opening hours and the menu's buffer
    after closing time; None when the shop is closed."""
    opening = cal.opening(day)
    if opening is None:
        return None
    lo, hi = cal.bounds(day, opening)
    return lo, hi + timedelta(minutes=menu.buffer)


def _overlaps(busy: Busy, span: tuple[datetime, datetime]) -> bool:
    return busy.start < span[1] and span[0] < busy.end
