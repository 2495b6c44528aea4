"""Double bookings and other clashes: recorded with their reasons, staff alerted at once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from mailgate import audit, outbox
from mailgate.context import Context
from mailgate.models import Booking, BookingStatus, Conflict, Customer, Message
from mailgate.shop.conflicts import Slot, check


def slot(session: Session, booking: Booking) -> Slot:
    customer = session.get(Customer, booking.customer_id) if booking.customer_id else None
    who = customer.name if customer and customer.name else ""
    name = f"{booking.source.upper()} {booking.external_id}" if booking.external_id else booking.source
    return Slot(
        id=booking.id,
        staff=booking.staff,
        start=booking.start,
        end=booking.end,
        label=f"{name} {who}".strip(),
    )


def others(session: Session, booking: Booking) -> list[Booking]:
    """Live bookings that overlap this one's time (any staff: a no-staff booking needs them all)."""
    stmt = select(Booking).where(
        Booking.status == BookingStatus.BOOKED,
        col(Booking.id) != booking.id,
        col(Booking.start) < booking.end,
        col(Booking.end) > booking.start,
    )
    return list(session.exec(stmt))


def check_and_record(
    session: Session, ctx: Context, booking: Booking, message: Message | None, now: datetime
) -> list[str]:
    reasons = check(
        ctx.calendar, slot(session, booking), [slot(session, b) for b in others(session, booking)]
    )
    if not reasons:
        return []
    conflict = Conflict(
        booking_id=booking.id or 0,
        reasons=reasons,
        created_at=now,
        message_id=message.id if message else None,
    )
    session.add(conflict)
    session.flush()
    actor = f"message:{message.id}" if message else "system"
    audit.record(
        session,
        "conflict_found",
        actor,
        customer_id=booking.customer_id,
        message_id=message.id if message else None,
        booking_id=booking.id,
        conflict_id=conflict.id,
        reasons=reasons,
        at=now,
    )
    customer = session.get(Customer, booking.customer_id) if booking.customer_id else None
    for to in ctx.cfg.shop.staff_alerts:
        outbox.enqueue(
            session,
            ctx,
            to=to,
            template="staff_alert",
            now=now,
            actor=actor,
            cause=None,
            capped=False,
            booking=booking,
            customer=customer,
            reasons=reasons,
            conflict=conflict,
            start=booking.start.astimezone(ctx.cfg.tz),
            end=booking.end.astimezone(ctx.cfg.tz),
        )
    return reasons


def resolve_for(session: Session, booking: Booking, why: str, now: datetime) -> None:
    """A booking that moved or was cancelled no longer has the clash it was flagged for."""
    stmt = select(Conflict).where(Conflict.booking_id == booking.id, col(Conflict.resolved_at).is_(None))
    for c in session.exec(stmt):
        c.resolved_at, c.resolved_by, c.resolution = now, "system", f"booking {why}"
        session.add(c)


def resolve(session: Session, conflict_id: int, operator: str, note: str, now: datetime) -> Conflict:
    c = session.get(Conflict, conflict_id)
    if c is None:
        raise LookupError(f"no conflict {conflict_id}")
    if c.resolved_at is not None:
        raise ValueError(f"conflict {conflict_id} was already resolved by {c.resolved_by}: {c.resolution}")
    c.resolved_at, c.resolved_by, c.resolution = now, operator, note
    session.add(c)
    booking = session.get(Booking, c.booking_id)
    audit.record(
        session,
        "conflict_resolved",
        f"operator:{operator}",
        customer_id=booking.customer_id if booking else None,
        booking_id=c.booking_id,
        conflict_id=c.id,
        note=note,
        at=now,
    )
    return c


def open_conflicts(session: Session) -> list[tuple[Conflict, Booking]]:
    stmt = (
        select(Conflict, Booking)
        .join(Booking, col(Booking.id) == Conflict.booking_id)
        .where(col(Conflict.resolved_at).is_(None))
        .order_by(col(Booking.start))
    )
    return [(c, b) for c, b in session.exec(stmt)]
