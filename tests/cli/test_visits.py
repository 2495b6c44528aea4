"""来訪チェック on the generated month, on SQLite and PostgreSQL: `checkin` and `noshow` mark a booking
with the operator on the audit event, no-shows count per customer (search rows and visits.counts),
`--undo` takes a mark back, and a cancelled booking cannot be checked in."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.ledger import visits
from mailgate.models import Booking, BookingStatus, Event
from tests.cli.test_desk import run
from tests.e2e.helpers import cli


def _session(month: Path) -> Session:
    return Session(db.make_engine(config.load(month).db_url))


def test_checkin_and_noshow_are_recorded_counted_and_undone(month: Path) -> None:
    with _session(month) as s:
        mine = s.exec(
            select(Booking.id)
            .where(Booking.customer_id == 7, Booking.status == BookingStatus.CONFIRMED)
            .order_by(col(Booking.start))
        ).all()
    came, missed = mine[0] or 0, mine[1] or 0
    assert cli(month, "checkin", str(came), "--as", "佐藤")["state"] == "arrived"
    assert cli(month, "noshow", str(missed), "--as", "佐藤")["state"] == "no_show"
    assert cli(month, "noshow", str(missed))["status"] == "already"

    rows = cli(month, "bookings", "search", "--number", str(missed))["bookings"]
    assert (rows[0]["visit"], rows[0]["no_shows"]) == ("no_show", 1)
    shown = cli(month, "customers", "show", "7")
    assert shown["visits"] == {"arrived": 1, "no_show": 1}
    [found] = [
        c for c in cli(month, "customers", "search", "--phone", shown["phone"])["customers"] if c["id"] == 7
    ]
    assert found["no_shows"] == 1
    with _session(month) as s:
        assert visits.counts(s, 7) == {"arrived": 1, "no_show": 1}
        kinds = s.exec(
            select(Event.kind, Event.actor).where(col(Event.kind).like("visit_%"), Event.customer_id == 7)
        ).all()
    assert sorted(kinds) == [("visit_checked_in", "operator:佐藤"), ("visit_no_show", "operator:佐藤")]

    assert cli(month, "noshow", str(missed), "--undo", "--as", "田中")["status"] == "recorded"
    assert cli(month, "bookings", "search", "--number", str(missed))["bookings"][0]["no_shows"] == 0
    with _session(month) as s:
        assert visits.counts(s, 7) == {"arrived": 1, "no_show": 0}


def test_a_cancelled_booking_cannot_be_checked_in(month: Path) -> None:
    with _session(month) as s:
        gone = s.exec(select(Booking.id).where(Booking.status == BookingStatus.CANCELLED)).first()
    code, said = run(month, "checkin", str(gone))
    assert code == 1 and f"booking {gone} is cancelled: it cannot be checked in" in said
    code, said = run(month, "checkin", "999999")
    assert code == 1 and "no booking 999999" in said
