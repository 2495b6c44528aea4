"""Bookings that must fit: a customer's (by link or mail) and the shop desk's for a caller. A vendor
notice is recorded whatever it clashes with (the customer already holds it with the vendor); these are
refused instead, with a reason a page or a mail words for the customer.

In order: the menu and the staff member exist; for customers, the deadline (前日18時まで ...), how far
ahead, and their limits; then, one shop day at a time, a free time on the calendar for the bookings
already there; and last the seat itself, which the database guards (ledger/seats.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.audit import Actor
from mailgate.ledger import (
    addons,
    answers,
    booking_mail,
    conflict_records,
    forced,
    reminders,
    seats,
    waitlist,
)
from mailgate.ledger.bookings import KEEP, _Keep
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.fit_rules import (
    CUSTOMER,
    Refused,
    add_holding,
    booking_at,
    check_deadline,
    check_horizon,
    check_limits,
    created,
    customer_for,
    find_offer,
    hold,
    menu_of,
    refuse,
    state_for,
)
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, BookingStatus
from mailgate.shop.calendar import Calendar


@dataclass(frozen=True)
class FitBook:
    source: str  # web | mail | phone | walk_in
    start: datetime
    menu: str  # the menu's name on the calendar
    staff: str | None = None  # a name or alias; None: anyone
    customer_id: int | None = None  # a registered customer
    person: Person = field(default_factory=Person)  # a guest, or a caller: found or created
    policy: str = CUSTOMER
    idempotency_key: str | None = None
    notify: bool = True  # mail the customer (and, for a customer's own booking, alert staff)
    client: str | None = None  # a guest's web client: the booking is a tentative hold (guest_holds.py)
    addons: tuple[str, ...] = ()  # names of the menu's add-ons, each held from its stock (addons.py)
    answers: tuple[str, ...] = ()  # to the menu's questions, in order ("" unanswered; answers.py)
    force: bool = False  # the desk books a time that is not free anyway, flagged (forced.py)


@dataclass(frozen=True)
class FitMove:
    booking_id: int
    start: datetime
    staff: str | _Keep | None = KEEP  # None: anyone
    menu: str | None = None  # None: keep
    policy: str = CUSTOMER
    version: int | None = None  # the version a link was mailed for: a later change makes it stale
    notify: bool = True


@dataclass(frozen=True)
class FitCancel:
    booking_id: int
    policy: str = CUSTOMER
    version: int | None = None
    notify: bool = True


def book(session: Session, env: LedgerEnv, cmd: FitBook, actor: Actor, now: datetime) -> Result:
    cal = env.calendar
    if cmd.idempotency_key and (done := by_key(session, cmd.idempotency_key)) is not None:
        return Result(Status.ALREADY, f"already booked as {done.id}", done.id, state=done.status)
    try:
        menu = menu_of(cal, cmd.menu)
        options = addons.chosen(menu, cmd.addons)
        if cmd.answers:  # asked (a page); a mail or the desk asks nothing, and books without
            answers.check(menu, cmd.answers)
        staff = _staff(cal, cmd.staff)
        customer_id = customer_for(session, cmd.customer_id, cmd.person, actor, now)
        if cmd.policy == CUSTOMER:
            check_deadline(cal, menu.book_until, cmd.start, now, "book")
            check_horizon(cal, menu, cmd.start, now)
            check_limits(session, env, customer_id, cmd.start, now)
        expire_due(session, now)  # a hold that ran out gives its seat back before anyone looks
        offer = find_offer(session, cal, menu, cmd.start, staff, now, cmd.policy)
        state = BookingStatus.TENTATIVE if cmd.client else state_for(menu, cmd.policy)
        expires = now + timedelta(minutes=env.cfg.booking.tentative_minutes)
        booking = booking_at(
            cal,
            menu,
            offer,
            now,
            source=cmd.source,
            idempotency_key=cmd.idempotency_key,
            customer_id=customer_id,
            client=cmd.client,
            status=state,
            expires_at=expires if state == BookingStatus.TENTATIVE else None,
            message_id=actor.message_id,
        )
        booking.price = menu.price + sum(a.price for a in options)

        def with_it(b: Booking) -> None:
            addons.claim(session, b, menu, options, hold=b.status in BookingStatus.HOLDING)
            answers.record(session, b, menu, cmd.answers)

        add_holding(session, cal, booking, menu, offer, staff is not None, with_it)
    except Refused as r:
        if not (cmd.force and r.result.code == "taken"):
            return r.result
        booking = forced.book_anyway(
            session, env, menu, cmd.start, staff, customer_id, cmd.source, actor, now
        )
        result = forced.flagged(session, env, booking, actor, now)
        if cmd.notify:
            booking_mail.notify(session, env, booking, "booked", actor, now, staff=False)
        return result
    except IntegrityError:  # the same form submitted twice at once: the other one booked
        done = by_key(session, cmd.idempotency_key or "")
        if done is None:
            raise
        return Result(Status.ALREADY, f"already booked as {done.id}", done.id, state=done.status)
    result = created(session, booking, actor, now)
    if cmd.notify:
        booking_mail.notify(session, env, booking, "booked", actor, now, staff=cmd.policy == CUSTOMER)
    return result


def move(session: Session, env: LedgerEnv, cmd: FitMove, actor: Actor, now: datetime) -> Result:
    cal = env.calendar
    booking = _locked(session, cmd.booking_id)
    try:
        if booking is None:
            raise Refused(Result(Status.NOT_FOUND, f"no booking {cmd.booking_id}"))
        if booking.status not in BookingStatus.LIVE:
            raise refuse(booking.status, f"booking {booking.id} is {booking.status}", booking.id)
        if cmd.version is not None and cmd.version != booking.version:
            raise refuse(
                "changed", f"booking {booking.id} changed since (version {booking.version})", booking.id
            )
        menu = menu_of(cal, cmd.menu or booking.menu)
        staff = booking.staff if isinstance(cmd.staff, _Keep) else _staff(cal, cmd.staff)
        if cmd.policy == CUSTOMER:
            check_deadline(cal, menu.change_until, booking.start, now, "change")
            check_deadline(cal, menu.book_until, cmd.start, now, "book")
            check_horizon(cal, menu, cmd.start, now)
        old = (booking.start, booking.end)
        new_end = cmd.start + menu.duration + timedelta(minutes=menu.buffer)
        conflict_records.serialize_days(session, env, old, (cmd.start, new_end))  # both days, one order
        expire_due(session, now)
        offer = find_offer(session, cal, menu, cmd.start, staff, now, cmd.policy, but=booking.id)
        before = {"start": booking.start.isoformat(), "staff": booking.staff, "menu": booking.menu}
        session.flush()
        with session.begin_nested():  # the new seat, or the old booking as it was
            seats.release(session, booking.id or 0)
            booking.start, booking.end, booking.slot_id = offer.start, offer.end, offer.slot_id
            booking.menu, booking.menu_id, booking.price = menu.name, menu.id, menu.price
            booking.staff = offer.staff
            booking.staff_id = cal.staff_ids.get(offer.staff) if offer.staff else None
            booking.version, booking.updated_at = booking.version + 1, now
            session.add(booking)
            session.flush()
            if booking.status in BookingStatus.HOLDING and not hold(
                session, cal, booking, menu, offer, staff is not None
            ):
                raise refuse("taken", "the seat was taken a moment ago (ちょうど埋まりました)", booking.id)
            addons.reclaim(session, booking, menu)
            booking.price = menu.price + addons.total(session, booking.id or 0)
    except Refused as r:
        if booking is not None:
            session.refresh(booking)
        return r.result
    reminders.withdraw(session, booking, "the booking was moved", now)
    audit.by(
        session,
        "booking_moved",
        actor,
        customer_id=booking.customer_id,
        booking_id=booking.id,
        before=before,
        after={"start": booking.start.isoformat(), "staff": booking.staff, "menu": booking.menu},
        at=now,
    )
    conflict_records.recheck_others(session, env, booking, old, "moved", actor, now)
    waitlist.seat_freed(session, env, booking, now, at=old[0])
    if cmd.notify:
        booking_mail.notify(session, env, booking, "changed", actor, now, staff=cmd.policy == CUSTOMER)
    return Result(Status.MOVED, f"booking {booking.id} moved", booking.id, state=booking.status)


def cancel(session: Session, env: LedgerEnv, cmd: FitCancel, actor: Actor, now: datetime) -> Result:
    booking = _locked(session, cmd.booking_id)
    if booking is None:
        return Result(Status.NOT_FOUND, f"no booking {cmd.booking_id}")
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED):
        return Result(
            Status.ALREADY,
            f"booking {booking.id} is {booking.status} already",
            booking.id,
            state=booking.status,
        )
    try:
        if cmd.version is not None and cmd.version != booking.version:
            raise refuse(
                "changed", f"booking {booking.id} changed since (version {booking.version})", booking.id
            )
        menu = next((m for m in env.calendar.menus if m.name == booking.menu), None)
        if cmd.policy == CUSTOMER and menu is not None:
            check_deadline(env.calendar, menu.cancel_until, booking.start, now, "cancel")
    except Refused as r:
        return r.result
    seats.release(session, booking.id or 0)
    booking.status, booking.version, booking.updated_at = BookingStatus.CANCELLED, booking.version + 1, now
    booking.client = None  # a guest's address is kept only while it counts against the guest limits
    session.add(booking)
    reminders.withdraw(session, booking, "the booking was cancelled", now)
    audit.by(
        session, "booking_cancelled", actor, customer_id=booking.customer_id, booking_id=booking.id, at=now
    )
    conflict_records.resolve_for(session, booking, "cancelled", now)
    conflict_records.recheck_others(
        session, env, booking, (booking.start, booking.end), "cancelled", actor, now
    )
    waitlist.seat_freed(session, env, booking, now)
    if cmd.notify:
        booking_mail.notify(session, env, booking, "cancelled", actor, now, staff=cmd.policy == CUSTOMER)
    return Result(
        Status.CANCELLED,
        f"booking {booking.id} cancelled; the seat is free",
        booking.id,
        state=booking.status,
    )


def confirm(
    session: Session, env: LedgerEnv, booking_id: int, actor: Actor, now: datetime, *, notify: bool = True
) -> Result:
    """A tentative booking confirmed by its link, while it still holds its seat; the customer gets the
    confirmation (with the change and cancel links of the booking as it is now)."""
    booking = _locked(session, booking_id)
    if booking is None:
        return Result(Status.NOT_FOUND, f"no booking {booking_id}")
    if booking.status == BookingStatus.CONFIRMED:
        return Result(
            Status.ALREADY, f"booking {booking.id} is confirmed already", booking.id, state=booking.status
        )
    if booking.status != BookingStatus.TENTATIVE or (
        booking.expires_at is not None and booking.expires_at <= now
    ):
        return Result(
            Status.EXPIRED, f"booking {booking.id} is {booking.status}", booking.id, state=booking.status
        )
    booking.status, booking.expires_at, booking.updated_at = BookingStatus.CONFIRMED, None, now
    booking.client = None
    session.add(booking)
    audit.by(
        session, "booking_confirmed", actor, customer_id=booking.customer_id, booking_id=booking.id, at=now
    )
    if notify:
        booking_mail.notify(session, env, booking, "confirmed", actor, now, staff=False)
    return Result(Status.CONFIRMED, f"booking {booking.id} confirmed", booking.id, state=booking.status)


def expire_due(session: Session, now: datetime, env: LedgerEnv | None = None) -> list[int]:
    """Tentative bookings whose hold ran out: expired, their seats free again, in one transaction;
    with `env` (the expire job, which holds their days first: waitlist.hold_days), offered to those
    waiting (ledger/waitlist.py), once all are expired. A command that expires them on its way offers
    nothing: the job's sweep hands those seats over within the minute."""
    stmt = (
        select(Booking)
        .where(Booking.status == BookingStatus.TENTATIVE, col(Booking.expires_at) <= now)
        .with_for_update()
    )
    expired: list[Booking] = []
    for booking in session.exec(stmt).all():
        seats.release(session, booking.id or 0)
        booking.status, booking.version, booking.updated_at = BookingStatus.EXPIRED, booking.version + 1, now
        booking.client = None
        session.add(booking)
        audit.by(
            session,
            "booking_expired",
            audit.SYSTEM,
            customer_id=booking.customer_id,
            booking_id=booking.id,
            at=now,
        )
        expired.append(booking)
    for booking in expired if env is not None else ():
        waitlist.seat_freed(session, env, booking, now)
    return [b.id or 0 for b in expired]


def _locked(session: Session, booking_id: int) -> Booking | None:
    return session.exec(select(Booking).where(Booking.id == booking_id).with_for_update()).first()


def by_key(session: Session, key: str) -> Booking | None:
    return session.exec(select(Booking).where(Booking.idempotency_key == key)).first()


def _staff(cal: Calendar, written: str | None) -> str | None:
    if written is None:
        return None
    name = cal.staff_named(written)
    if name is None:
        raise refuse("staff", f"no staff member called {written!r}")
    return name
