"""来訪チェック: the operator marks whether the customer of a booking came (checked in) or not (a
no-show), or undoes the mark; each an audit event with the operator. No-shows count per customer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.audit import Actor
from mailgate.desk_tables import Visit, VisitState
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, BookingStatus

_EVENTS = {VisitState.ARRIVED: "visit_checked_in", VisitState.NO_SHOW: "visit_no_show"}


def mark(session: Session, booking_id: int, state: str, actor: Actor, now: datetime) -> Result:
    """The booking's visit set to `state` (arrived | no_show); a cancelled or expired booking is
    refused: nobody was expected."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        return Result(Status.NOT_FOUND, f"no booking {booking_id}")
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED):
        word = "checked in" if state == VisitState.ARRIVED else "marked a no-show"
        return Result(
            Status.REFUSED,
            f"booking {booking_id} is {booking.status}: it cannot be {word}",
            booking_id,
            code=booking.status,
            state=booking.status,
        )
    visit = session.get(Visit, booking_id)
    if visit is not None and visit.state == state:
        return Result(Status.ALREADY, f"booking {booking_id} is {state} already", booking_id, state=state)
    before = visit.state if visit else ""
    visit = visit or Visit(booking_id=booking_id, state=state)
    visit.state, visit.at, visit.operator = state, now, actor.name
    session.add(visit)
    audit.by(
        session,
        _EVENTS[state],
        actor,
        customer_id=booking.customer_id,
        booking_id=booking_id,
        before=before,
        at=now,
    )
    return Result(Status.RECORDED, f"booking {booking_id}: {state}", booking_id, state=state)


def undo(session: Session, booking_id: int, actor: Actor, now: datetime) -> Result:
    """The mark taken back (a check-in on the wrong booking, a no-show who came late)."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        return Result(Status.NOT_FOUND, f"no booking {booking_id}")
    visit = session.get(Visit, booking_id)
    if visit is None:
        return Result(Status.ALREADY, f"booking {booking_id} has no visit mark", booking_id)
    audit.by(
        session,
        "visit_undone",
        actor,
        customer_id=booking.customer_id,
        booking_id=booking_id,
        before=visit.state,
        at=now,
    )
    session.delete(visit)
    return Result(Status.RECORDED, f"booking {booking_id}: mark {visit.state} undone", booking_id)


def of_bookings(session: Session, booking_ids: Iterable[int]) -> dict[int, str]:
    ids = list(booking_ids)
    if not ids:
        return {}
    stmt = select(Visit.booking_id, Visit.state).where(col(Visit.booking_id).in_(ids))
    return {int(b): s for b, s in session.exec(stmt)}


def no_shows(session: Session, customer_ids: Iterable[int]) -> dict[int, int]:
    """{customer: no-shows}, for those with any."""
    ids = list(customer_ids)
    if not ids:
        return {}
    stmt = (
        select(Booking.customer_id, func.count())
        .join(Visit, col(Visit.booking_id) == Booking.id)
        .where(col(Booking.customer_id).in_(ids), Visit.state == VisitState.NO_SHOW)
        .group_by(col(Booking.customer_id))
    )
    return {int(c): int(n) for c, n in session.exec(stmt) if c is not None}


def counts(session: Session, customer_id: int) -> dict[str, int]:
    """One customer's visits: {"arrived": n, "no_show": n} (0 when none)."""
    stmt = (
        select(Visit.state, func.count())
        .join(Booking, col(Booking.id) == Visit.booking_id)
        .where(Booking.customer_id == customer_id)
        .group_by(col(Visit.state))
    )
    found = {s: int(n) for s, n in session.exec(stmt)}
    return {state: found.get(state, 0) for state in VisitState.ALL}
