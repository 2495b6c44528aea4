"""Seats guarded by the database: a booking that holds a seat inserts one row per unit it holds, and
the unique key (resource, unit) lets only one booking hold a unit. Two bookings racing for the last
seat on two nodes: one insert commits, the other fails and its booking is refused — on SQLite and on
PostgreSQL alike, whatever any check before the insert thought.

Units: a staff member's time in 5-minute grains ("staff:<id>"; "shop" for a shop without a roster),
or a fixed slot's seats by number ("slot:<id>").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, delete, text
from sqlalchemy.sql.dml import Delete
from sqlmodel import Session

from mailgate import plain_sql
from mailgate.models import Booking
from mailgate.shop.calendar import Calendar
from mailgate.shop_tables import SeatClaim

GRAIN = timedelta(minutes=5)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def person(staff_id: int | None) -> str:
    return f"staff:{staff_id}" if staff_id is not None else "shop"


def grains(start: datetime, end: datetime) -> range:
    """The grains [start, end) touches (a time off the grid takes the whole grain)."""
    first = (start - _EPOCH) // GRAIN
    last = -((_EPOCH - end) // GRAIN)  # ceiling
    return range(first, last)


# The units [first, last) of one resource for one booking, by one statement of a fixed text (a
# recursive count): its parameters do not grow with the units, as a row each did (an executemany
# returning the ids: 1.4 ms a booking of an hour, a third of recording a notice). The count is in a
# subquery so that the statement begins with INSERT (Python's sqlite3 gives a statement beginning
# WITH no row count); WHERE: SQLite would read the ON CONFLICT after a bare FROM as the join's.
_INSERT = text(
    "INSERT INTO seatclaim (resource, unit, booking_id)"
    " SELECT CAST(:resource AS VARCHAR), n, CAST(:booking_id AS INTEGER) FROM ("
    "WITH RECURSIVE units(n) AS ("
    "SELECT CAST(:first AS INTEGER) UNION ALL SELECT n + 1 FROM units WHERE n + 1 < CAST(:last AS INTEGER)"
    ") SELECT n FROM units) AS counted WHERE true ON CONFLICT DO NOTHING"
)


@cache
def _deleting() -> Delete:
    table = SeatClaim.__table__  # type: ignore[attr-defined]
    return delete(table).where(
        table.c.booking_id == bindparam("booking_id"),
        table.c.resource == bindparam("resource"),
        table.c.unit >= bindparam("first"),
        table.c.unit < bindparam("last"),
    )


def _insert(session: Session, resource: str, booking_id: int, first: int, last: int) -> bool:
    """All the units, or none when any is held already. One statement and no savepoint: the unique
    key still decides (on PostgreSQL a unit another transaction is inserting waits for its end);
    the units that did go in are taken out again (the booking holds none of them before: a
    booking moved releases what it held first)."""
    params = {"first": first, "last": last, "resource": resource, "booking_id": booking_id}
    if plain_sql.in_session(session, _INSERT, params).rowcount == last - first:
        return True
    plain_sql.in_session(session, _deleting(), params)
    return False


def hold_time(session: Session, booking_id: int, resource: str, start: datetime, end: datetime) -> bool:
    """The booking holds `resource` for [start, end) — or False when any of it is held already."""
    units = grains(start, end)
    return _insert(session, resource, booking_id, units.start, units.stop) if units else True


def hold_seat(session: Session, booking_id: int, slot_id: int, seats: int) -> int | None:
    """The number of the seat the booking now holds in a fixed slot, or None when all are taken."""
    for number in range(1, seats + 1):
        if _insert(session, f"slot:{slot_id}", booking_id, number, number + 1):
            return number
    return None


def release(session: Session, booking_id: int) -> None:
    """Whatever the booking held (cancelled, expired, moved)."""
    session.exec(delete(SeatClaim).where(SeatClaim.booking_id == booking_id))  # type: ignore[call-overload]


def hold_recorded(session: Session, cal: Calendar, booking: Booking) -> bool:
    """A booking recorded as it came (a vendor's notice, a forced one) holds what is still free of its
    time, so customers are not offered it. Held by another already: the clash check flagged it. A
    booking with no one named holds nothing: availability counts it against everyone."""
    assert booking.id is not None
    if not name_ids(cal, booking):
        return False
    menu = cal.menu_named(booking.menu) if booking.menu else None
    end = booking.end + timedelta(minutes=menu.buffer if menu else 0)
    return hold_time(session, booking.id, person(booking.staff_id), booking.start, end)


def name_ids(cal: Calendar, booking: Booking) -> bool:
    """The booking's staff and menu ids from their names (set before its insert, it is written
    once); False for a staff member the roster does not have, who holds nothing."""
    if cal.staff and booking.staff not in cal.staff_ids:
        return False
    menu = cal.menu_named(booking.menu) if booking.menu else None
    booking.staff_id = cal.staff_ids.get(booking.staff) if booking.staff else None
    booking.menu_id = menu.id if menu is not None else booking.menu_id
    return True
