"""Checked rows into the ledger, all in the caller's transaction. A live booking goes through the
vendor-notice command (ledger/bookings.py Book): it is recorded whatever it clashes with — an
imported booking happened, or was promised, elsewhere — and a clash is flagged as a conflict for
staff, as for a notice. A cancelled one is history: recorded as it was, holding no seat and waking
no one on the waitlist. Customers are found or created as notices find them (ledger/matching.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from mailgate import audit
from mailgate.audit import Actor
from mailgate.exchange import people
from mailgate.exchange.csv_import import BookingRow, CustomerRow, Problem
from mailgate.ledger import bookings, fitting
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, BookingStatus

LABEL = "CSV import"


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0  # a known customer: blanks filled in, a memo added
    unchanged: int = 0  # imported before: a second import changes nothing
    conflicts: list[Problem] = field(default_factory=list)  # recorded, and flagged for staff
    refused: list[Problem] = field(default_factory=list)


def _already(session: Session, row: BookingRow) -> Booking | None:
    cmd = row.book
    found = bookings.by_external(session, cmd.source, cmd.external_id)
    if found is None and cmd.idempotency_key:
        found = fitting.by_key(session, cmd.idempotency_key)
    return found


def _cancelled(session: Session, env: LedgerEnv, row: BookingRow, actor: Actor, now: datetime) -> Result:
    cmd = row.book
    if (done := _already(session, row)) is not None:
        return Result(Status.ALREADY, "imported before", done.id)
    name = bookings.label(cmd.source, cmd.external_id)
    customer, _ = people.find_or_create(session, cmd.customer, now=now, actor=actor, label=name)
    cal = env.calendar
    menu = cal.menu_named(cmd.menu or "")
    booking = Booking(
        source=cmd.source,
        external_id=cmd.external_id,
        idempotency_key=cmd.idempotency_key,
        customer_id=customer.id if customer else None,
        start=cmd.start,
        end=cmd.end or cmd.start,
        staff=cmd.staff,
        menu=cmd.menu or "",
        staff_id=cal.staff_ids.get(cmd.staff) if cmd.staff else None,
        menu_id=menu.id if menu else None,
        status=BookingStatus.CANCELLED,
        created_at=now,
        updated_at=now,
    )
    session.add(booking)
    session.flush()
    return Result(Status.CREATED, f"{name} recorded as cancelled", booking.id)


def book(session: Session, env: LedgerEnv, row: BookingRow, actor: Actor, now: datetime) -> Result:
    if row.status == BookingStatus.CANCELLED:
        result = _cancelled(session, env, row, actor, now)
    else:
        if _already(session, row) is None:  # the ledger's matching then finds the row's own customer
            people.find_or_create(session, row.book.customer, now=now, actor=actor, label=LABEL)
        result = bookings.book(session, env, row.book, actor, now)
    if result.status in (Status.CREATED, Status.CONFLICT):
        booking = session.get(Booking, result.booking_id)
        assert booking is not None
        booking.price, booking.note = row.price, row.note
        booking.created_at = row.created_at or booking.created_at  # when it was booked, elsewhere
        session.add(booking)
        audit.by(
            session,
            "booking_imported",
            actor,
            customer_id=booking.customer_id,
            booking_id=booking.id,
            line=row.line,
            status=booking.status,
            at=now,
        )
    return result


def bookings_in(
    session: Session, env: LedgerEnv, rows: list[BookingRow], actor: Actor, now: datetime
) -> Outcome:
    outcome = Outcome()
    for row in rows:
        result = book(session, env, row, actor, now)
        if result.status == Status.ALREADY:
            outcome.unchanged += 1
        elif result.status in (Status.CREATED, Status.CONFLICT):
            outcome.created += 1
            if result.conflicts:
                outcome.conflicts.append(Problem(row.line, "; ".join(result.conflicts)))
        else:
            outcome.refused.append(Problem(row.line, result.reason))
    return outcome


def customers_in(session: Session, rows: list[CustomerRow], actor: Actor, now: datetime) -> Outcome:
    outcome = Outcome()
    for row in rows:
        customer, state = people.find_or_create(session, row.person, now=now, actor=actor, label=LABEL)
        assert customer is not None  # a row names someone (csv_import checked)
        if state == people.NEW:
            customer.created_at = row.created_at or customer.created_at
        if row.memo and row.memo not in customer.memo:
            customer.memo = f"{customer.memo}\n{row.memo}".strip()
            audit.by(session, "customer_updated", actor, customer_id=customer.id, memo=row.memo)
            state = people.UPDATED if state == people.SAME else state
        session.add(customer)
        outcome.created += state == people.NEW
        outcome.updated += state == people.UPDATED
        outcome.unchanged += state == people.SAME
    return outcome


def summary(session: Session, actor: Actor, kind: str, file: str, outcome: Outcome, skipped: int) -> None:
    """One event for the import as a whole, beside the events of each booking and customer."""
    audit.by(
        session,
        "csv_imported",
        actor,
        what=kind,
        file=file,
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        conflicts=len(outcome.conflicts),
        skipped=skipped,
    )
