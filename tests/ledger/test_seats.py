"""Seats held by one statement (seats.hold_time, hold_seat), on SQLite and PostgreSQL: all the units
or none, and a refusal leaves nothing of its own behind and nothing of the holder's taken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from mailgate import db
from mailgate.context import Context
from mailgate.ledger import seats
from mailgate.models import Booking, Customer
from mailgate.shop_tables import SeatClaim
from mailgate.write_now import add_now

START = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)


def _bookings(s: Session, n: int) -> list[int]:
    customer = Customer(email="a@example.jp", email_key="a@example.jp")
    add_now(s, customer)
    ids = []
    for _ in range(n):
        booking = Booking(customer_id=customer.id or 0, start=START, end=START, source="web")
        add_now(s, booking)
        ids.append(booking.id or 0)
    return ids


def _units(s: Session, booking_id: int) -> list[tuple[str, int]]:
    stmt = select(SeatClaim.resource, SeatClaim.unit).where(SeatClaim.booking_id == booking_id)
    return list(s.exec(stmt.order_by(col(SeatClaim.unit))))


def test_an_overlapping_hold_is_refused_whole_and_the_first_keeps_all_it_held(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        first, second = _bookings(s, 2)
        hour = START + timedelta(hours=1)
        assert seats.hold_time(s, first, "staff:1", START, hour)
        held = _units(s, first)
        assert len(held) == 12 and {r for r, _ in held} == {"staff:1"}
        assert held[-1][1] - held[0][1] == 11  # twelve grains of five minutes, in a row
        later = START + timedelta(minutes=30)
        assert not seats.hold_time(s, second, "staff:1", later, later + timedelta(hours=1))
        assert _units(s, second) == []  # the six free grains it did insert were taken out again
        assert _units(s, first) == held
        assert seats.hold_time(s, second, "staff:2", later, later + timedelta(hours=1))  # someone else
        assert seats.hold_time(s, second, "staff:1", hour, hour + timedelta(minutes=7))  # right after
        assert len(_units(s, second)) == 12 + 2  # 7 minutes take two grains


def test_a_fixed_slots_next_free_seat_is_taken_and_none_when_full(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        a, b, c = _bookings(s, 3)
        assert seats.hold_seat(s, a, 7, 2) == 1
        assert seats.hold_seat(s, b, 7, 2) == 2
        assert seats.hold_seat(s, c, 7, 2) is None
        assert _units(s, c) == []
        seats.release(s, a)
        assert seats.hold_seat(s, c, 7, 2) == 1


def test_a_hold_of_no_time_holds_nothing(db_ctx: Context) -> None:
    with db.transaction(db_ctx.engine) as s:
        (a,) = _bookings(s, 1)
        assert seats.hold_time(s, a, "shop", START, START)
        assert _units(s, a) == []
    with db.transaction(db.reading(db_ctx.engine)) as s:
        assert s.exec(select(SeatClaim)).all() == []
