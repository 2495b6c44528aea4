"""Finding customers as an operator types them: part of a name or reading (kanji or kana, hiragana,
katakana or half-width, with or without spaces), a phone number in any format, part of any of their
addresses, a status, when they were created. `bookings search` and `note --bulk` use the same filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String
from sqlmodel import Session, col, func, or_, select

from mailgate import normalize
from mailgate.customer_addresses import CustomerAddress
from mailgate.desk_tables import Visit, VisitState
from mailgate.models import Booking, BookingStatus, Customer, CustomerStatus


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    """The stored value as the query is typed: no spaces (older rows may have them), no dashes."""
    for dropped in (" ", "\u3000", "-"):
        column = func.replace(column, dropped, "", type_=String)
    return column.contains(text, autoescape=True)


def conditions(name: str | None, phone: str | None, email: str | None) -> list[ColumnElement[bool]]:
    """Who a search means, however the name, reading, phone or address is typed; `mailgate bookings
    search` uses the same conditions for the customer of a booking."""
    found: list[ColumnElement[bool]] = []
    if name and name.strip():
        spellings = normalize.name_query(name)
        found.append(or_(*(_contains(c, s) for s in spellings for c in (Customer.name, Customer.name_kana))))
    if phone is not None:
        digits = normalize.phone_query(phone)
        found.append(_contains(Customer.phone, digits) if digits else col(Customer.id).is_(None))
    if email and email.strip():
        text = email.strip().lower()
        has = col(CustomerAddress.email_key).contains(text, autoescape=True)
        linked = select(CustomerAddress.customer_id).where(has)
        found.append(
            or_(col(Customer.email_key).contains(text, autoescape=True), col(Customer.id).in_(linked))
        )
    return found


def matching_customers(
    session: Session,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    status: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> list[int]:
    """The ids of the customers every given criterion matches, oldest first (created_to exclusive).
    A merged customer is an empty row: found only when status "merged" is asked for."""
    stmt = select(Customer.id).where(*conditions(name, phone, email))
    if status:
        stmt = stmt.where(Customer.status == status)
    else:
        stmt = stmt.where(Customer.status != CustomerStatus.MERGED)
    if created_from is not None:
        stmt = stmt.where(Customer.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Customer.created_at < created_to)
    return [i for i in session.exec(stmt.order_by(col(Customer.id))) if i is not None]


@dataclass(frozen=True)
class Found:
    """A customer as the search lists them."""

    id: int
    name: str
    name_kana: str
    phone: str
    emails: list[str]
    status: str
    bookings: int  # not cancelled, not expired
    last_visit: datetime | None  # the start of the latest confirmed booking before now
    created_at: datetime
    no_shows: int = 0  # bookings marked `mailgate noshow`


def summaries(session: Session, ids: list[int], now: datetime) -> list[Found]:
    """What the search shows of each customer, in the order of `ids`."""
    if not ids:
        return []
    kept = col(Booking.status).not_in([BookingStatus.CANCELLED, BookingStatus.EXPIRED])
    counts = dict(
        session.exec(
            select(Booking.customer_id, func.count())
            .where(col(Booking.customer_id).in_(ids), kept)
            .group_by(col(Booking.customer_id))
        ).all()
    )
    visited = (Booking.status == BookingStatus.CONFIRMED, Booking.start <= now)
    last = dict(
        session.exec(
            select(Booking.customer_id, func.max(Booking.start))
            .where(col(Booking.customer_id).in_(ids), *visited)
            .group_by(col(Booking.customer_id))
        ).all()
    )
    missed = (
        select(Booking.customer_id, func.count())
        .join(Visit, col(Visit.booking_id) == Booking.id)
        .where(col(Booking.customer_id).in_(ids), Visit.state == VisitState.NO_SHOW)
        .group_by(col(Booking.customer_id))
    )
    no_shows = dict(session.exec(missed).all())
    extra: dict[int, list[str]] = {}
    linked = select(CustomerAddress).where(col(CustomerAddress.customer_id).in_(ids))
    for a in session.exec(linked.order_by(col(CustomerAddress.id))):
        extra.setdefault(a.customer_id, []).append(a.email)
    people = {c.id: c for c in session.exec(select(Customer).where(col(Customer.id).in_(ids)))}
    return [
        Found(
            id=i,
            name=c.name,
            name_kana=c.name_kana,
            phone=c.phone,
            emails=[e for e in (c.email, *extra.get(i, [])) if e],
            status=c.status,
            bookings=counts.get(i, 0),
            last_visit=last.get(i),
            created_at=c.created_at,
            no_shows=no_shows.get(i, 0),
        )
        for i in ids
        if (c := people.get(i)) is not None
    ]
