"""The shop's numbers over a span of days (`mailgate stats`): appointments by source and state, new
customers, mail in and out, held messages, conflicts, check-ins and no-shows. The days are the
shop's (midnight in its zone, not UTC's): a mail at 07:00 in Tokyo belongs to that day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import Session, col, func, select

from mailgate.desk_tables import Visit, VisitState
from mailgate.models import Booking, Conflict, Customer, Message, MessageState, Outbox, OutboxState


def bounds(tz: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """From midnight of `first` to midnight after `last`, in the shop's zone."""
    return datetime.combine(first, time(0), tz), datetime.combine(last + timedelta(days=1), time(0), tz)


def _count(
    session: Session, column: InstrumentedAttribute[Any], lo: datetime, hi: datetime, *where: Any
) -> int:
    stmt = select(func.count()).where(col(column) >= lo, col(column) < hi, *where)  # FROM: the column's table
    return int(session.exec(stmt).one())


def gather(session: Session, tz: ZoneInfo, first: date, last: date) -> dict[str, Any]:
    """Bookings are those whose appointment falls in the span; everything else counts what happened
    in it (a customer registered, a mail received or queued, a conflict found)."""
    lo, hi = bounds(tz, first, last)
    by_source: dict[str, dict[str, int]] = {}
    stmt = (
        select(Booking.source, Booking.status, func.count())
        .where(col(Booking.start) >= lo, col(Booking.start) < hi)
        .group_by(col(Booking.source), col(Booking.status))
    )
    for source, status, n in session.exec(stmt):
        by_source.setdefault(source, {})[status] = int(n)
    visits = select(Visit.state, func.count()).join(Booking, col(Booking.id) == Visit.booking_id)
    visits = visits.where(col(Booking.start) >= lo, col(Booking.start) < hi).group_by(col(Visit.state))
    came = {state: int(n) for state, n in session.exec(visits)}
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "zone": tz.key,
        "bookings": {source: by_source[source] for source in sorted(by_source)},
        "bookings_total": sum(n for states in by_source.values() for n in states.values()),
        "new_customers": _count(session, Customer.created_at, lo, hi),
        "mails_in": _count(session, Message.received_at, lo, hi),
        "mails_out": _count(session, Outbox.created_at, lo, hi),
        "mails_out_sent": _count(session, Outbox.created_at, lo, hi, Outbox.state == OutboxState.SENT),
        "held": _count(session, Message.received_at, lo, hi, Message.state == MessageState.HELD),
        "conflicts": _count(session, Conflict.created_at, lo, hi),
        "conflicts_open": _count(session, Conflict.created_at, lo, hi, col(Conflict.resolved_at).is_(None)),
        "checked_in": came.get(VisitState.ARRIVED, 0),  # of the span's appointments
        "no_shows": came.get(VisitState.NO_SHOW, 0),
    }
