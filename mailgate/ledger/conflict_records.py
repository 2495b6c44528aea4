"""Double bookings and other clashes, recorded with their reasons; staff alerted (staff_alerts.py).

The check (shop/clash.py) reads the other bookings; two clashing bookings applied at the same moment
would each miss the other, uncommitted one. So the check runs one at a time per shop day (a booking
with no staff named clashes with everyone's): the second waits for the first to commit, then sees it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from mailgate import audit, db, write_now
from mailgate.audit import Actor
from mailgate.ledger import staff_alerts
from mailgate.ledger.env import LedgerEnv
from mailgate.models import Booking, BookingStatus, Conflict, Customer
from mailgate.shop.calendar import Calendar
from mailgate.shop.clash import Slot, check


class Placed(Protocol):
    """What the clash check reads of a booking: a Booking, or a row of `others`."""

    id: int | None
    customer_id: int | None
    source: str
    external_id: str | None
    staff: str | None
    start: datetime
    end: datetime


def slot(session: Session, booking: Placed, *, named: bool = True) -> Slot:
    """The booking as the clash check sees it; `named`: with its customer's name in the label, which
    only the reasons' text uses (a lookup per booking)."""
    customer = session.get(Customer, booking.customer_id) if booking.customer_id and named else None
    who = customer.name if customer and customer.name else ""
    name = f"{booking.source.upper()} {booking.external_id}" if booking.external_id else booking.source
    return Slot(
        id=booking.id,
        staff=booking.staff,
        start=booking.start,
        end=booking.end,
        label=f"{name} {who}".strip(),
    )


# No booking of a shop lasts longer: a read of the bookings around a time is then a range of the
# index on their start, however long the ledger grows. (One that did would still hold its seat claims.)
LONGEST = timedelta(days=1)

# Built once: building cost more than running it. Only what the check reads: a shop day's bookings
# loaded whole into the session cost more than the check itself.
_OVERLAPPING = select(
    Booking.id,
    Booking.customer_id,
    Booking.source,
    Booking.external_id,
    Booking.staff,
    Booking.start,
    Booking.end,
).where(
    db.unindexed(col(Booking.status)).in_(db.spelled_out(BookingStatus.LIVE)),
    col(Booking.id) != bindparam("id"),
    col(Booking.start) > bindparam("earliest"),
    col(Booking.start) < bindparam("end"),
    col(Booking.end) > bindparam("start"),
)


def others(session: Session, booking: Booking) -> list[Placed]:
    """Live bookings that overlap this one's time (any staff: a no-staff booking needs them all): what
    the clash check reads of them, not the bookings themselves."""
    # An unsaved booking (no id) excludes none: ids start at 1.
    start, end = booking.start, booking.end
    params = {"id": booking.id or 0, "earliest": start - LONGEST, "start": start, "end": end}
    return list(write_now.columns(session, _OVERLAPPING, params))


def day_keys(cal: Calendar, start: datetime, end: datetime) -> list[str]:
    """The shop days a booking touches (one past midnight touches two)."""
    first, last = cal.local(start).date(), cal.local(end - timedelta(microseconds=1)).date()
    return [f"clash:{first + timedelta(days=i)}" for i in range((last - first).days + 1)]


def check_and_record(
    session: Session, env: LedgerEnv, booking: Booking, actor: Actor, now: datetime, *, otherwise: str = ""
) -> list[str]:
    """The clash check's reasons, recorded as a conflict; `otherwise`: the reason recorded when the
    check finds none (a booking the desk forced onto a time that was not free)."""
    cal = env.calendar
    db.serialize(session, *day_keys(cal, booking.start, booking.end))
    around = others(session, booking)
    reasons = check(cal, slot(session, booking, named=False), [slot(session, b, named=False) for b in around])
    if reasons:  # worded again with the customers' names; whether it clashes does not depend on them
        reasons = check(cal, slot(session, booking), [slot(session, b) for b in around])
    reasons = reasons or ([otherwise] if otherwise else [])
    if not reasons:
        return []
    conflict = Conflict(
        booking_id=booking.id or 0, reasons=reasons, created_at=now, message_id=actor.message_id
    )
    session.add(conflict)
    session.flush()
    audit.by(
        session,
        "conflict_found",
        actor,
        customer_id=booking.customer_id,
        booking_id=booking.id,
        conflict_id=conflict.id,
        reasons=reasons,
        at=now,
    )
    customer = session.get(Customer, booking.customer_id) if booking.customer_id else None
    staff_alerts.raise_alert(
        session,
        env,
        "staff_alert",
        actor,
        now,
        customer_id=booking.customer_id,
        booking=booking,
        customer=customer,
        reasons=reasons,
        conflict=conflict,
        start=booking.start.astimezone(env.cfg.tz),
        end=booking.end.astimezone(env.cfg.tz),
    )
    return reasons


def resolve_for(session: Session, booking: Booking, why: str, now: datetime) -> None:
    """A booking that moved or was cancelled no longer has the clash it was flagged for."""
    stmt = select(Conflict).where(Conflict.booking_id == booking.id, col(Conflict.resolved_at).is_(None))
    for c in session.exec(stmt):
        c.resolved_at, c.resolved_by, c.resolution = now, "system", f"booking {why}"
        session.add(c)


def serialize_days(session: Session, env: LedgerEnv, *spans: tuple[datetime, datetime]) -> None:
    """Hold every shop day these spans touch, taken in one sorted go (a move touches two slots)."""
    db.serialize(session, *(key for start, end in spans for key in day_keys(env.calendar, start, end)))


def recheck_others(
    session: Session,
    env: LedgerEnv,
    booking: Booking,
    old: tuple[datetime, datetime],
    why: str,
    actor: Actor,
    now: datetime,
) -> None:
    """Bookings flagged for clashing with the slot this booking just left (cancelled or moved): a
    conflict with no clash left is closed; one with any reason left stays open for staff."""
    start, end = old
    serialize_days(session, env, old)
    stmt = (
        select(Conflict, Booking)
        .join(Booking, col(Booking.id) == Conflict.booking_id)
        .where(
            col(Conflict.resolved_at).is_(None),
            col(Booking.status).in_(BookingStatus.LIVE),
            col(Booking.id) != booking.id,
            col(Booking.start) < end,
            col(Booking.end) > start,
        )
    )
    for conflict, other in list(session.exec(stmt)):
        around = [slot(session, b, named=False) for b in others(session, other)]
        if check(env.calendar, slot(session, other, named=False), around):
            continue
        _close(session, conflict, other, "system", f"no clash left: booking {booking.id} {why}", actor, now)


def _close(
    session: Session,
    conflict: Conflict,
    booking: Booking | None,
    by: str,
    note: str,
    actor: Actor,
    now: datetime,
) -> None:
    conflict.resolved_at, conflict.resolved_by, conflict.resolution = now, by, note
    session.add(conflict)
    audit.by(
        session,
        "conflict_resolved",
        actor,
        customer_id=booking.customer_id if booking else None,
        booking_id=conflict.booking_id,
        conflict_id=conflict.id,
        note=note,
        at=now,
    )


def resolve(session: Session, conflict_id: int, operator: str, note: str, now: datetime) -> Conflict:
    c = session.get(Conflict, conflict_id)
    if c is None:
        raise LookupError(f"no conflict {conflict_id}")
    if c.resolved_at is not None:
        raise ValueError(f"conflict {conflict_id} was already resolved by {c.resolved_by}: {c.resolution}")
    booking = session.get(Booking, c.booking_id)
    _close(session, c, booking, operator, note, Actor.operator(operator), now)
    return c


def open_conflicts(session: Session) -> list[tuple[Conflict, Booking]]:
    stmt = (
        select(Conflict, Booking)
        .join(Booking, col(Booking.id) == Conflict.booking_id)
        .where(col(Conflict.resolved_at).is_(None))
        .order_by(col(Booking.start))
    )
    return [(c, b) for c, b in session.exec(stmt)]
