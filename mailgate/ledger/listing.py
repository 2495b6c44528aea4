"""Reading the ledger for people: bookings of a day with customer and conflict flags, and the day's
waitlists."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailgate.followup_tables import WaitEntry, WaitState
from mailgate.ledger import addons, answers
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
    options = addons.names_of(session, ids)
    replies = answers.lines_of(session, ids)
    return [
        {
            **b.model_dump(mode="json"),
            "start_local": b.start.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "end_local": b.end.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "customer": customer.name if customer else "",
            "open_conflicts": reasons.get(b.id or 0, []),
            "addons": options.get(b.id or 0, []),
            "answers": replies.get(b.id or 0, []),
        }
        for b, customer in rows
    ]


def waitlist_on(session: Session, tz: ZoneInfo, day: date) -> list[dict[str, Any]]:
    """A day's waitlists, by time and then in line: who waits, who was offered a seat until when."""
    lo = datetime.combine(day, time(0), tz)
    stmt = (
        select(WaitEntry, Customer)
        .join(Customer, col(Customer.id) == WaitEntry.customer_id)
        .where(col(WaitEntry.start) >= lo, col(WaitEntry.start) < lo + timedelta(days=1))
        .order_by(col(WaitEntry.start), col(WaitEntry.id))
    )
    return [
        {
            "id": w.id,
            "start_local": w.start.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "menu": w.menu,
            "staff": w.staff,
            "customer_id": w.customer_id,
            "customer": customer.name,
            "email": customer.email,
            "state": w.state,
            "offered_until_local": w.offer_until.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            if w.offer_until and w.state == WaitState.OFFERED
            else None,
            "booking_id": w.booking_id,
            "joined_at": w.created_at.isoformat(),
        }
        for w, customer in session.exec(stmt)
    ]
