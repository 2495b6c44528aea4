"""Reading the ledger for people: bookings of a day with customer and conflict flags."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from mailgate.context import Context
from mailgate.models import Booking, Conflict, Customer


def bookings_on(session: Session, ctx: Context, day: date | None) -> list[dict[str, Any]]:
    stmt = select(Booking).order_by(col(Booking.start), col(Booking.id))
    if day is not None:
        start = datetime.combine(day, time(0), ctx.cfg.tz)
        stmt = stmt.where(col(Booking.start) >= start, col(Booking.start) < start + timedelta(days=1))
    out = []
    for b in session.exec(stmt):
        customer = session.get(Customer, b.customer_id) if b.customer_id else None
        open_conflicts = session.exec(
            select(Conflict).where(Conflict.booking_id == b.id, col(Conflict.resolved_at).is_(None))
        ).all()
        out.append(
            {
                **b.model_dump(mode="json"),
                "start_local": b.start.astimezone(ctx.cfg.tz).strftime("%Y-%m-%d %H:%M"),
                "end_local": b.end.astimezone(ctx.cfg.tz).strftime("%Y-%m-%d %H:%M"),
                "customer": customer.name if customer else "",
                "open_conflicts": [list(c.reasons) for c in open_conflicts],
            }
        )
    return out
