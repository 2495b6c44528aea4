"""Reading bookings and free times for the pages, which never query tables themselves: a customer's
bookings from every source, one booking as a page shows it, a menu's free times on a day and the days
that have any. Reads only; what is shown is checked again by the command that acts on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from mailgate import deadlines
from mailgate.ledger import addons, booking_mail, fit_rules
from mailgate.ledger.env import LedgerEnv
from mailgate.models import Booking, BookingStatus
from mailgate.shop.availability import Offer, offers
from mailgate.shop.calendar import Calendar, Menu

# マイページ lists at most this many upcoming bookings (a page stays under 10 KB on a feature phone).
MAX_LISTED = 10


@dataclass(frozen=True)
class BookingView:
    """One booking as a page shows it, copied out of the session."""

    id: int
    customer_id: int | None
    state: str
    version: int
    start: datetime
    menu: str
    staff: str | None
    shown: dict[str, Any]  # booking_mail.view: the day and times in the shop's time, menu, price ...
    change_by: datetime | None  # the last moment to change by link or page; None: only the shop can
    cancel_by: datetime | None
    change_rule: str  # the menu's deadline rule, for deadlines.describe
    cancel_rule: str

    @property
    def live(self) -> bool:
        return self.state in BookingStatus.LIVE

    def can_change(self, now: datetime) -> bool:
        return self.live and self.change_by is not None and now <= self.change_by

    def can_cancel(self, now: datetime) -> bool:
        return self.live and self.cancel_by is not None and now <= self.cancel_by


def view_of(env: LedgerEnv, booking: Booking, options: list[str] | None = None) -> BookingView:
    cal = env.calendar
    menu = menu_named(cal, booking.menu)
    change_by = deadlines.latest(menu.change_until, booking.start, cal.tz) if menu else None
    cancel_by = deadlines.latest(menu.cancel_until, booking.start, cal.tz) if menu else None
    return BookingView(
        id=booking.id or 0,
        customer_id=booking.customer_id,
        state=booking.status,
        version=booking.version,
        start=booking.start,
        menu=booking.menu,
        staff=booking.staff,
        shown=booking_mail.view(env, booking, options),
        change_by=change_by,
        cancel_by=cancel_by,
        change_rule=menu.change_until if menu else "0",
        cancel_rule=menu.cancel_until if menu else "0",
    )


def bookings_of(session: Session, env: LedgerEnv, customer_id: int, now: datetime) -> list[BookingView]:
    """The customer's bookings not yet over, whatever made them (a page, a mail, a vendor, the desk):
    the first MAX_LISTED, and one more when there are more (the page says so)."""
    stmt = (
        select(Booking)
        .where(
            Booking.customer_id == customer_id,
            col(Booking.status).in_(BookingStatus.LIVE),
            col(Booking.end) > now,
        )
        .order_by(col(Booking.start), col(Booking.id))
        .limit(MAX_LISTED + 1)
    )
    return [view_of(env, b) for b in session.exec(stmt)]


def booking_of(session: Session, env: LedgerEnv, customer_id: int, booking_id: int) -> BookingView | None:
    """One of the customer's bookings; None when there is no such booking or it is someone else's."""
    booking = session.get(Booking, booking_id)
    if booking is None or booking.customer_id != customer_id:
        return None
    return with_addons(session, env, booking)


def with_addons(session: Session, env: LedgerEnv, booking: Booking) -> BookingView:
    """One booking as a page shows it after an action: with the add-ons it took."""
    return view_of(env, booking, addons.names(session, booking.id))


def menu_named(cal: Calendar, name: str | None) -> Menu | None:
    return next((m for m in cal.menus if m.name == name), None) if name else None


def free_times(
    session: Session,
    env: LedgerEnv,
    menu: Menu,
    day: date,
    staff: str | None,
    now: datetime,
    *,
    but: int | None = None,
) -> list[Offer]:
    """The times a customer can book `menu` on the shop's `day` (staff: a canonical name, None: anyone);
    `but`: a booking being changed, whose own seat does not count."""
    return open_days(session, env, menu, staff, day, 1, now, but=but)[0][1]


def open_days(
    session: Session,
    env: LedgerEnv,
    menu: Menu,
    staff: str | None,
    first: date,
    count: int,
    now: datetime,
    *,
    but: int | None = None,
) -> list[tuple[date, list[Offer]]]:
    """Each of `count` shop days from `first` with its free times, read with one query for the bookings
    and one for the fixed slots' seats."""
    cal = env.calendar
    lo = datetime.combine(first, time.min, cal.tz)
    busy = fit_rules.busy_on(session, cal, lo, lo + timedelta(days=count), but=but)
    slots = [f.id for f in cal.fixed if f.menu == menu.name]
    taken = fit_rules.taken_seats(session, slots, but=but)
    days = [first + timedelta(days=i) for i in range(count)]
    return [
        (day, offers(cal, menu, day, busy, now=now, staff=staff, taken_seats=taken, for_customer=True))
        for day in days
    ]


def free_staff(
    session: Session,
    env: LedgerEnv,
    menu: Menu,
    day: date,
    people: list[str],
    now: datetime,
    *,
    but: int | None = None,
) -> set[str]:
    """Who of `people` has a free time for `menu` on the shop's `day`, read with one query."""
    cal = env.calendar
    lo = datetime.combine(day, time.min, cal.tz)
    busy = fit_rules.busy_on(session, cal, lo, lo + timedelta(days=1), but=but)
    return {p for p in people if offers(cal, menu, day, busy, now=now, staff=p, for_customer=True)}
