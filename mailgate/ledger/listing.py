"""Reading the ledger for people: bookings of a day with customer and conflict flags."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailgate.models import Booking, Conflict, Customer


def bookings_on(session: Session, tz: ZoneInfo, day: date | None) -> list[dict[str, Any]]:
    stmt = (
        select(Booking, Customer)
        .join(Customer, col(Customer.id) == Booking.customer_id, isouter=True)
        .order_by(col(Booking.start), col(Booking.id))
    )
    if day is not None:
        start = datetime.combine(day, time(0), tz)
        stmt = stmt.where(col(Booking.start) >= start, col(Booking.start) < start + timedelta(days=1))
    rows = list(session.exec(stmt))
    ids = [b.id for b, _ in rows]
    reasons: dict[int, list[list[str]]] = {}
    if ids:
        open_stmt = select(Conflict).where(
            col(Conflict.booking_id).in_(ids), col(Conflict.resolved_at).is_(None)
        )
        for c in session.exec(open_stmt):
            reasons.setdefault(c.booking_id, []).append(list(c.reasons))
    return [
        {
            **b.model_dump(mode="json"),
            "start_local": b.start.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "end_local": b.end.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "customer": customer.name if customer else "",
            "open_conflicts": reasons.get(b.id or 0, []),
        }
        for b, customer in rows
    ]
