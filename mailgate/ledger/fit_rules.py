"""What a booking that must fit is checked against, in order: the menu and the staff member exist;
for customers the deadline, how far ahead and their limits; one shop day at a time, a free time for
the bookings already there; and last the seat itself, which the database guards (ledger/seats.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from mailgate import audit, db, deadlines
from mailgate.audit import Actor
from mailgate.ledger import conflict_records, matching, seats
from mailgate.ledger.conflict_records import LONGEST
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, BookingStatus
from mailgate.shop.availability import Busy, Offer, offers
from mailgate.shop.calendar import Calendar, Menu

CUSTOMER, DESK = "customer", "desk"  # a customer's own (all rules), the shop's desk (no deadlines, no limits)


class Refused(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.reason)
        self.result = result


def refuse(code: str, reason: str, booking_id: int | None = None) -> Refused:
    status = Status.TAKEN if code == "taken" else Status.REFUSED
    return Refused(Result(status, reason, booking_id, code=code))


def menu_of(cal: Calendar, name: str | None) -> Menu:
    menu = next((m for m in cal.menus if m.name == name), None) if name else None
    if menu is None:
        raise refuse("menu", f"no menu called {name!r}")
    return menu


def check_deadline(cal: Calendar, rule: str, start: datetime, now: datetime, what: str) -> None:
    if now > deadlines.latest(rule, start, cal.tz):
        raise refuse("late", f"too late to {what} by link or mail ({deadlines.describe(rule)})")


def check_horizon(cal: Calendar, menu: Menu, start: datetime, now: datetime) -> None:
    if cal.local(start).date() > cal.local(now).date() + timedelta(days=menu.ahead_days):
        raise refuse("too_far", f"bookings open {menu.ahead_days} days ahead")
    if start < now:
        raise refuse("late", "that time has passed")


def _live(customer_id: int) -> Any:
    return (
        select(func.count())
        .select_from(Booking)
        .where(Booking.customer_id == customer_id, col(Booking.status).in_(BookingStatus.LIVE))
    )


def open_limit_reached(session: Session, env: LedgerEnv, customer_id: int, now: datetime) -> bool:
    """The customer holds as many bookings not yet over as the shop allows: offering times is pointless."""
    limit = env.cfg.booking.max_open
    return bool(limit) and int(session.exec(_live(customer_id).where(col(Booking.end) > now)).one()) >= limit


def check_limits(session: Session, env: LedgerEnv, customer_id: int, start: datetime, now: datetime) -> None:
    """Per customer, in the booking's own transaction (the customer's lock is held: matching.lock)."""
    rules = env.cfg.booking
    cal = env.calendar
    live = _live(customer_id)
    day = cal.local(start).date()
    day_lo = datetime.combine(day, datetime.min.time(), cal.tz)
    month_lo = day_lo.replace(day=1)
    month_hi = (month_lo + timedelta(days=32)).replace(day=1)
    counts = {
        "max_open": live.where(col(Booking.end) > now),
        "max_per_day": live.where(
            col(Booking.start) >= day_lo, col(Booking.start) < day_lo + timedelta(days=1)
        ),
        "max_per_month": live.where(col(Booking.start) >= month_lo, col(Booking.start) < month_hi),
    }
    for name, stmt in counts.items():
        limit = getattr(rules, name)
        if limit and int(session.exec(stmt).one()) >= limit:
            raise refuse("limit", f"the customer's limit [booking] {name} = {limit} is reached")


def busy_on(
    session: Session, cal: Calendar, start: datetime, end: datetime, *, but: int | None = None
) -> list[Busy]:
    """Bookings holding a seat in the shop days around [start, end), each with its menu's buffer."""
    lo = datetime.combine(cal.local(start).date(), datetime.min.time(), cal.tz) - timedelta(days=1)
    hi = datetime.combine(cal.local(end).date(), datetime.min.time(), cal.tz) + timedelta(days=2)
    return busy_between(session, cal, lo, hi, but=but)


# Built once: a page or a mail asks for free times again and again, and building the statement costs
# as much as running it on a day's rows.
_BUSY = select(Booking.staff, Booking.start, Booking.end, Booking.menu).where(
    col(Booking.start) >= bindparam("first"),
    col(Booking.start) < bindparam("hi"),
    col(Booking.end) > bindparam("reached"),
    db.unindexed(col(Booking.status)).in_(BookingStatus.HOLDING),
    col(Booking.slot_id).is_(None),
    col(Booking.id) != bindparam("but"),
)


def busy_between(
    session: Session, cal: Calendar, lo: datetime, hi: datetime, *, but: int | None = None
) -> list[Busy]:
    """Bookings holding a seat whose time or buffer after it overlaps [lo, hi); only the columns
    availability needs (rows, not ORM objects: a busy day of twenty people is hundreds of them)."""
    buffers = {m.name: timedelta(minutes=m.buffer) for m in cal.menus}
    none = timedelta(0)
    reach = max(buffers.values(), default=none)
    rows = session.connection().execute(
        _BUSY, {"first": lo - reach - LONGEST, "hi": hi, "reached": lo - reach, "but": but or 0}
    )
    found = [Busy(staff, start, end + buffers.get(menu, none)) for staff, start, end, menu in rows.all()]
    return [b for b in found if b.end > lo]


def taken_seats(session: Session, slot_ids: list[int], *, but: int | None = None) -> dict[int, int]:
    if not slot_ids:
        return {}
    stmt = (
        select(Booking.slot_id, func.count())
        .where(col(Booking.slot_id).in_(slot_ids), col(Booking.status).in_(BookingStatus.HOLDING))
        .group_by(Booking.slot_id)
    )
    if but is not None:
        stmt = stmt.where(col(Booking.id) != but)
    return {int(k): int(v) for k, v in session.exec(stmt) if k is not None}


def find_offer(
    session: Session,
    cal: Calendar,
    menu: Menu,
    start: datetime,
    staff: str | None,
    now: datetime,
    policy: str,
    *,
    but: int | None = None,
) -> Offer:
    """The calendar's offer for exactly this start, or Refused("taken"). The caller holds the day."""
    end = start + menu.duration + timedelta(minutes=menu.buffer)
    db.serialize(session, *conflict_records.day_keys(cal, start, end))
    slots = [f.id for f in cal.fixed if f.menu == menu.name]
    found = offers(
        cal,
        menu,
        cal.local(start).date(),
        busy_on(session, cal, start, end, but=but),
        now=now,
        staff=staff,
        taken_seats=taken_seats(session, slots, but=but),
        for_customer=policy == CUSTOMER,
    )
    match = next((o for o in found if o.start == start), None)
    if match is None:
        raise refuse("taken", "that time is not free (ちょうど埋まりました)")
    return match


def hold(session: Session, cal: Calendar, booking: Booking, menu: Menu, offer: Offer, named: bool) -> bool:
    """The seat itself: False when the database says someone else holds it."""
    assert booking.id is not None
    if offer.slot_id is not None:
        fixed = next(f for f in cal.fixed if f.id == offer.slot_id)
        day = cal.local(fixed.start).date()
        delta = cal.days[day].seats_delta if day in cal.days else 0
        return seats.hold_seat(session, booking.id, offer.slot_id, fixed.seats + delta) is not None
    # "Anyone": the next free person when the first was taken a moment ago.
    candidates = (offer.staff,) if named else (offer.free or (offer.staff,))
    end = offer.end + timedelta(minutes=menu.buffer)
    for who in candidates:
        staff_id = cal.staff_ids.get(who) if who else None
        if seats.hold_time(session, booking.id, seats.person(staff_id), offer.start, end):
            booking.staff, booking.staff_id = (who or None), staff_id
            return True
    return False


def booking_at(cal: Calendar, menu: Menu, offer: Offer, now: datetime, **fields: Any) -> Booking:
    """A new booking of `menu` at the calendar's `offer` (not added yet)."""
    return Booking(
        start=offer.start,
        end=offer.end,
        staff=offer.staff,
        staff_id=cal.staff_ids.get(offer.staff) if offer.staff else None,
        menu=menu.name,
        menu_id=menu.id,
        slot_id=offer.slot_id,
        price=menu.price,
        created_at=now,
        updated_at=now,
        **fields,
    )


def add_holding(
    session: Session,
    cal: Calendar,
    booking: Booking,
    menu: Menu,
    offer: Offer,
    named: bool,
    then: Callable[[Booking], None] | None = None,
) -> None:
    """The booking and, when its state holds one, its seat; or neither, and Refused('taken').
    `then`: more the booking holds in the same savepoint (its add-ons), refused the same way."""
    session.flush()
    with session.begin_nested():
        session.add(booking)
        session.flush()
        if booking.status in BookingStatus.HOLDING and not hold(session, cal, booking, menu, offer, named):
            raise refuse("taken", "the seat was taken a moment ago (ちょうど埋まりました)")
        if then is not None:
            then(booking)


def state_for(menu: Menu, policy: str) -> str:
    if policy == DESK or menu.confirm == "instant":
        return BookingStatus.CONFIRMED
    return BookingStatus.TENTATIVE if menu.confirm == "tentative" else BookingStatus.APPLICATION


def created(session: Session, booking: Booking, actor: Actor, now: datetime) -> Result:
    audit.by(
        session,
        "booking_created",
        actor,
        customer_id=booking.customer_id,
        booking_id=booking.id,
        start=booking.start.isoformat(),
        staff=booking.staff,
        menu=booking.menu,
        state=booking.status,
        at=now,
    )
    return Result(
        Status.CREATED, f"booked as {booking.id} ({booking.status})", booking.id, state=booking.status
    )


def customer_for(
    session: Session, customer_id: int | None, person: Person, actor: Actor, now: datetime
) -> int:
    if customer_id is not None:
        return customer_id
    found = matching.find_or_create(session, person, now=now, actor=actor, label="予約")
    if found is None or found.id is None:
        raise refuse("customer", "who is booking? (a name, a phone number or an address)")
    return found.id
