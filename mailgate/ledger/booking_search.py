"""Finding bookings the way a caller describes them: a name or its reading however it is typed, a
phone number in any format, an address, the booking's or the vendor's number, days, state, source,
staff. Every filter given must hold (AND); the newest bookings first, `limit` of them, and how many
matched in all.

Names are compared without storing anything new: customers' names and readings are stored
normalized already (normalize.name / normalize.kana: NFKC, no spaces, readings in katakana), so the
query is normalized the same way and tried in each of its forms (as typed, katakana, hiragana) with
LIKE against the columns as stored, which keeps the per-row work to a few LIKEs. A partial name
has to be found in the middle of a name, which no index serves on either database; the scan reads
only the customer table (a shop's customers, not its bookings) and the bookings are then reached
through their indexed customer_id, start or status."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jaconv
from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from mailgate.ledger import customer_search, visits
from mailgate.models import Booking, Customer, CustomerStatus


@dataclass(frozen=True)
class Query:
    name: str = ""
    phone: str = ""
    email: str = ""
    number: int | None = None  # the booking's id
    vendor_number: str = ""  # its external_id
    day_from: date | None = None  # the booking's day
    day_to: date | None = None
    created: date | None = None
    changed: date | None = None  # the day of its last change (updated_at)
    state: str = ""
    source: str = ""
    staff: str = ""  # the canonical name
    limit: int = 50


@dataclass(frozen=True)
class Found:
    rows: list[dict[str, Any]]
    total: int  # all that matched; rows holds the first `limit`


def name_forms(text: str) -> set[str]:
    """A typed name as the stored names may hold it: NFKC (half-width kana to full), no spaces,
    lower case, and its katakana and hiragana forms ("やまだ はなこ" -> ヤマダハナコ, やまだはなこ)."""
    base = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()
    return {f for f in (base, jaconv.hira2kata(base), jaconv.kata2hira(base)) if f}


def katakana(forms: set[str]) -> str:
    """The reading's form of a typed name (readings are stored in katakana)."""
    return jaconv.hira2kata(min(forms))


def customer_filters(q: Query) -> list[ColumnElement[bool]]:
    phone = q.phone if q.phone.strip() else None
    return customer_search.conditions(q.name, phone, q.email)


def _day_span(column: Any, first: date, last: date, tz: ZoneInfo) -> list[ColumnElement[bool]]:
    lo = datetime.combine(first, time(0), tz)
    hi = datetime.combine(last, time(0), tz) + timedelta(days=1)
    return [column >= lo, column < hi]


def booking_filters(q: Query, tz: ZoneInfo) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    about_customer = customer_filters(q)
    if about_customer:
        who = select(Customer.id).where(col(Customer.status) != CustomerStatus.DELETED, *about_customer)
        where.append(col(Booking.customer_id).in_(who))
    if q.number is not None:
        where.append(col(Booking.id) == q.number)
    if q.vendor_number.strip():
        where.append(func.lower(col(Booking.external_id)) == q.vendor_number.strip().lower())
    if q.day_from or q.day_to:
        first, last = q.day_from or date(2000, 1, 1), q.day_to or date(2199, 12, 31)
        where += _day_span(col(Booking.start), first, last, tz)
    if q.created:
        where += _day_span(col(Booking.created_at), q.created, q.created, tz)
    if q.changed:
        where += _day_span(col(Booking.updated_at), q.changed, q.changed, tz)
    if q.state:
        where.append(col(Booking.status) == q.state)
    if q.source:
        where.append(col(Booking.source) == q.source)
    if q.staff:
        where.append(col(Booking.staff) == q.staff)
    return where


def search(session: Session, tz: ZoneInfo, q: Query) -> Found:
    where = booking_filters(q, tz)
    total = int(session.exec(select(func.count()).select_from(Booking).where(*where)).one())
    stmt = (
        select(Booking, Customer)
        .join(Customer, col(Customer.id) == Booking.customer_id, isouter=True)
        .where(*where)
        .order_by(col(Booking.start).desc(), col(Booking.id).desc())
        .limit(q.limit)
    )
    rows = list(session.exec(stmt))
    marks = visits.of_bookings(session, [b.id or 0 for b, _ in rows])
    no_shows = visits.no_shows(session, {b.customer_id for b, _ in rows if b.customer_id})

    def local(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    return Found(
        [
            {
                "id": b.id,
                "start_local": local(b.start),
                "end_local": local(b.end),
                "staff": b.staff,
                "menu": b.menu,
                "source": b.source,
                "external_id": b.external_id,
                "status": b.status,
                "visit": marks.get(b.id or 0, ""),
                "customer_id": b.customer_id,
                "customer": c.name if c else "",
                "name_kana": c.name_kana if c else "",
                "phone": c.phone if c else "",
                "email": c.email if c else "",
                "no_shows": no_shows.get(b.customer_id or 0, 0),
                "created_local": local(b.created_at),
                "changed_local": local(b.updated_at),
            }
            for b, c in rows
        ],
        total,
    )
