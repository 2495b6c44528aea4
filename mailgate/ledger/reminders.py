"""Reminder mails before bookings, each exactly once per booking version, from the database alone.

Reminded: confirmed bookings that live only in mailgate (no vendor's reservation number: the vendors
remind their own customers). Tentative ones are not (they are confirmed within minutes or expire; a
reminder still due when one is confirmed goes then), nor applications (the shop has not accepted).

Each reminder is a `Reminder` row unique per (booking, kind, version), inserted in the transaction
that queues its mail, so two nodes, two runs or a restart never queue it twice. A change bumps the
booking's version: its reminders come again for the new time, and those queued for the old one but
not yet sent are withdrawn in the change's own transaction (`withdraw`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailgate import audit, db
from mailgate.followup_tables import Reminder, ReminderState
from mailgate.ledger import booking_mail
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.reminder_due import Due, Planned, due, lead, window_of
from mailgate.models import Booking, BookingStatus, Outbox, OutboxState


@dataclass(frozen=True)
class Queued:
    sent: list[int]  # the outbox ids queued
    skipped: list[tuple[int, str]]  # (booking id, kind) missed by more than the catch-up window

    def __str__(self) -> str:
        return f"{len(self.sent)} reminders queued, {len(self.skipped)} skipped"


def offsets_for(env: LedgerEnv, booking: Booking) -> tuple[str, ...]:
    """The booking's menu's reminder offsets, else the shop's."""
    menu = next(
        (m for m in env.calendar.menus if m.name == booking.menu or (m.id and m.id == booking.menu_id)), None
    )
    if menu is not None and menu.reminders is not None:
        return menu.reminders
    return tuple(env.cfg.booking.reminders)


def planned(session: Session, env: LedgerEnv, now: datetime) -> list[Planned]:
    """The bookings a reminder may be due for now: reminded kinds, not started, near enough."""
    offsets = {*env.cfg.booking.reminders, *(o for m in env.calendar.menus for o in m.reminders or ())}
    if not offsets:
        return []
    horizon = now + max(lead(o) for o in offsets)
    stmt = select(Booking).where(
        db.unindexed(col(Booking.status)) == BookingStatus.CONFIRMED,  # the range on start: the days ahead
        col(Booking.external_id).is_(None),
        col(Booking.start) > now,
        col(Booking.start) <= horizon,
    )
    return [Planned(b.id or 0, b.version, b.start, offsets_for(env, b)) for b in session.exec(stmt).all()]


def queue_due(session: Session, env: LedgerEnv, now: datetime) -> Queued:
    """Queue (or record as skipped) every reminder due now that no run recorded yet."""
    plans = planned(session, env, now)
    if not plans:
        return Queued([], [])
    ids = [p.booking_id for p in plans]
    done = {
        (r.booking_id, r.kind, r.version)
        for r in session.exec(select(Reminder).where(col(Reminder.booking_id).in_(ids))).all()
    }
    window = window_of(env.cfg.booking.reminder_catch_up)
    result = Queued([], [])
    for d in due(plans, now, window, env.cfg.tz, done):
        outbox_id = _record(session, env, d, now)
        if outbox_id is not None:
            result.sent.append(outbox_id)
        elif not d.send:
            result.skipped.append((d.booking_id, d.kind))
    return result


def _record(session: Session, env: LedgerEnv, d: Due, now: datetime) -> int | None:
    """One reminder, under the booking's lock (a change waits, or has already bumped the version)."""
    locked = select(Booking).where(Booking.id == d.booking_id).with_for_update()
    # populate_existing: read as it is now, not as `planned` loaded it before the lock
    booking = session.exec(locked.execution_options(populate_existing=True)).first()
    if booking is None or booking.status != BookingStatus.CONFIRMED or booking.version != d.version:
        return None  # changed since it was read: the next run sees it as it is now
    row = Reminder(
        booking_id=d.booking_id,
        kind=d.kind,
        version=d.version,
        due_at=d.at,
        state=ReminderState.QUEUED if d.send else ReminderState.SKIPPED,
        reason="" if d.send else "missed by more than [booking] reminder_catch_up",
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None  # another node or run recorded it first
    if not d.send:
        return None
    mail = booking_mail.notify(session, env, booking, "reminder", audit.SYSTEM, now, staff=False)
    if mail is None:
        row.state, row.reason = ReminderState.SKIPPED, "no mail can go to the customer"
    row.outbox_id = mail.id if mail else None
    session.add(row)
    return row.outbox_id


def withdraw(session: Session, booking: Booking, reason: str, now: datetime) -> int:
    """Called where a change bumps the booking's version, in its transaction: reminders queued for an
    older version and not yet sent never go (a sender mid-send keeps its row). How many were withdrawn."""
    stale = session.exec(
        select(Reminder).where(
            Reminder.booking_id == booking.id,
            Reminder.state == ReminderState.QUEUED,
            Reminder.version != booking.version,
            col(Reminder.outbox_id).is_not(None),
        )
    ).all()
    withdrawn = 0
    for r in stale:
        taken = session.exec(
            update(Outbox)
            .where(col(Outbox.id) == r.outbox_id, col(Outbox.state) == OutboxState.QUEUED)
            .values(state=OutboxState.WITHDRAWN, last_error=f"withdrawn: {reason}")
        )
        if not taken.rowcount:  # type: ignore[attr-defined]
            continue  # sent or being sent
        r.state, r.reason = ReminderState.WITHDRAWN, reason
        session.add(r)
        audit.by(
            session,
            "reminder_withdrawn",
            audit.SYSTEM,
            customer_id=booking.customer_id,
            booking_id=booking.id,
            outbox_id=r.outbox_id,
            why=reason,
            at=now,
        )
        withdrawn += 1
    return withdrawn
