"""A desk booking made anyway (`mailgate book --force`): the shop decided to take a customer on a
time that is full, off a person's shift or outside the hours. Recorded as a vendor notice is, holding
what is still free of its time, and flagged with a Conflict whose reasons say what it clashes with,
so the day's ledger marks it and staff see it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from mailgate.audit import Actor
from mailgate.ledger import conflict_records, seats
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.fit_rules import booking_at, created
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, BookingStatus
from mailgate.shop.availability import Offer
from mailgate.shop.calendar import Menu


def book_anyway(
    session: Session,
    env: LedgerEnv,
    menu: Menu,
    start: datetime,
    staff: str | None,
    customer_id: int,
    source: str,
    actor: Actor,
    now: datetime,
) -> Booking:
    # Not an offer of the calendar: the time the desk asked for, as it is.
    asked = Offer(start, start + menu.duration, staff)
    booking = booking_at(
        env.calendar,
        menu,
        asked,
        now,
        source=source,
        customer_id=customer_id,
        status=BookingStatus.CONFIRMED,
        message_id=actor.message_id,
    )
    session.add(booking)
    session.flush()
    return booking


def flagged(session: Session, env: LedgerEnv, booking: Booking, actor: Actor, now: datetime) -> Result:
    """The audit event, the conflict (its reasons from the clash check; a time the check does not
    object to — a break, a buffer, a full fixed slot — as "not a free time") and the seat claims."""
    created(session, booking, actor, now)
    why = f"空き枠ではありません（{actor.name} が --force で受付）"
    reasons = conflict_records.check_and_record(session, env, booking, actor, now, otherwise=why)
    seats.hold_recorded(session, env.calendar, booking)
    return Result(
        Status.CONFLICT,
        f"booked anyway as {booking.id}: {reasons[0]}",
        booking.id,
        tuple(reasons),
        state=booking.status,
    )
