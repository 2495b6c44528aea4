"""Bookings on the shop's ledger: book, move, cancel. Typed commands in, typed results out; each is
idempotent, each is checked for clashes, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from mailgate import audit, db, write_now
from mailgate.audit import Actor
from mailgate.ledger import conflict_records, matching, reminders, seats, waitlist
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking, BookingStatus
from mailgate.write_now import add_now


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()  # Move.staff, FitMove.staff: leave the staff member as booked


@dataclass(frozen=True)
class Book:
    source: str  # stores | salonboard | airreserve | phone | web | ...
    start: datetime  # aware
    end: datetime | None = None  # None: the menu's duration
    staff: str | None = None  # as written (aliases resolve); None: no one named
    menu: str | None = None
    customer: Person = field(default_factory=Person)
    external_id: str | None = None  # the vendor's reservation number
    idempotency_key: str | None = None  # a form's or a caller's: the same key books once
    as_of: datetime | None = None  # the vendor's signed time of the notice: orders later changes
    # A notice names the booking staff typed in by hand at its time; an imported row is one of its own.
    link_typed: bool = True


@dataclass(frozen=True)
class Move:
    source: str | None
    external_id: str | None
    start: datetime
    end: datetime | None = None
    staff: str | _Keep | None = KEEP
    menu: str | None = None  # None: keep
    previous_start: datetime | None = None  # finds the booking when there is no reservation number
    customer: Person = field(default_factory=Person)
    # The vendor's signed time of this change: one older than the last applied is refused.
    as_of: datetime | None = None
    # A vendor's change whose time nobody vouches for (pasted by staff): refused when the booking was
    # moved since the state it changes, since it might be undoing that later change.
    unordered: bool = False


@dataclass(frozen=True)
class Cancel:
    source: str | None
    external_id: str | None
    start: datetime | None = None  # finds the booking when there is no reservation number
    customer: Person = field(default_factory=Person)


def label(source: str | None, external_id: str | None) -> str:
    return f"{(source or '?').upper()} {external_id or '(番号なし)'}"


def _end(env: LedgerEnv, start: datetime, end: datetime | None, menu: str | None) -> datetime:
    return end if end is not None else start + env.calendar.duration(menu)


def _staff(env: LedgerEnv, written: str | None) -> str | None:
    if not written:
        return None
    return env.calendar.staff_named(written) or written


# Built once, the values as parameters (building a statement cost more than running it).
_BY_EXTERNAL = (
    select(Booking)
    .where(Booking.source == bindparam("source"), Booking.external_id == bindparam("external_id"))
    .with_for_update()
)


# Both columns, so that the unique (source, external_id) index finds them: on the number alone,
# every booking ever was read.
_EXTERNALS = select(Booking.source, Booking.external_id, Booking.id).where(
    col(Booking.source).in_(bindparam("sources", expanding=True)),
    col(Booking.external_id).in_(bindparam("external_ids", expanding=True)),
)
_KEPT_EXTERNAL = "mailgate_bookings_by_external"  # (source, number) -> booking id; None: no booking


def read_externals(session: Session, numbers: Iterable[tuple[str | None, str | None]]) -> None:
    """The bookings of a batch's vendor numbers, read with one query at its start instead of one
    per notice. Only where the transaction is the only writer (SQLite); kept in step by `book`
    (the one place a transaction gives a booking a vendor number) and forgotten with a savepoint
    that rolls back, so whatever follows asks the database again."""
    if not db.sole_writer(session):
        return
    wanted = {(source, number) for source, number in numbers if source and number}
    found: dict[tuple[str, str], int | None] = dict.fromkeys(wanted)
    if wanted:
        params = {
            "sources": sorted({source for source, _ in wanted}),
            "external_ids": sorted({number for _, number in wanted}),
        }
        for source, number, booking_id in write_now.columns(session, _EXTERNALS, params):
            if (source, number) in found:  # not another vendor's number that happens to match
                found[(source, number)] = booking_id
    db.kept(session, _KEPT_EXTERNAL, lambda: found)


def _remember(session: Session, booking: Booking) -> None:
    kept = db.kept_already(session, _KEPT_EXTERNAL)
    if isinstance(kept, dict) and booking.source and booking.external_id:
        kept[(booking.source, booking.external_id)] = booking.id


def by_external(session: Session, source: str | None, external_id: str | None) -> Booking | None:
    if not source or not external_id:
        return None
    kept = db.kept_already(session, _KEPT_EXTERNAL)
    if isinstance(kept, dict) and (source, external_id) in kept:
        booking_id = kept[(source, external_id)]
        return None if booking_id is None else session.get(Booking, booking_id)
    return session.exec(_BY_EXTERNAL, params={"source": source, "external_id": external_id}).first()


@cache
def _at_start(customer: bool, manual: bool, source: bool) -> SelectOfScalar[Booking]:
    stmt = select(Booking).where(
        Booking.start == bindparam("start"), col(Booking.status).in_(BookingStatus.LIVE)
    )
    if customer:
        stmt = stmt.where(Booking.customer_id == bindparam("customer_id"))
    if manual:
        stmt = stmt.where(col(Booking.external_id).is_(None))
    elif source:
        stmt = stmt.where(Booking.source == bindparam("source"))
    return stmt.order_by(col(Booking.id))


def _by_start(
    session: Session, start: datetime, *, source: str | None, customer_id: int | None, manual: bool
) -> Booking | None:
    """A live booking at `start`: one staff typed in (no vendor number), or one from `source`."""
    stmt = _at_start(customer_id is not None, manual, bool(source))
    params: dict[str, object] = {"start": start}
    params |= {"customer_id": customer_id} if customer_id is not None else {}
    params |= {"source": source} if source and not manual else {}
    return session.exec(stmt, params=params).first()


def _already(session: Session, cmd: Book) -> Booking | None:
    found = by_external(session, cmd.source, cmd.external_id)
    if found is None and cmd.idempotency_key:
        stmt = select(Booking).where(Booking.idempotency_key == cmd.idempotency_key)
        found = session.exec(stmt).first()
    return found


def _already_result(name: str, booking: Booking) -> Result:
    what = "was cancelled since" if booking.status == BookingStatus.CANCELLED else "is in the ledger"
    return Result(
        Status.ALREADY, f"{name} already {what} (booking {booking.id}): nothing changed", booking.id
    )


def book(session: Session, env: LedgerEnv, cmd: Book, actor: Actor, now: datetime) -> Result:
    name = label(cmd.source, cmd.external_id)
    # Its customer's locks and its days' in one ordered step (PostgreSQL): taken one after the other
    # (the customer's, then a day's below it), two nodes' notices waited for each other.
    days = conflict_records.day_keys(env.calendar, cmd.start, _end(env, cmd.start, cmd.end, cmd.menu))
    db.serialize(session, *matching.lock_keys(cmd.customer), *days)
    existing = _already(session, cmd)
    if existing is not None:
        return _already_result(name, existing)
    customer = matching.find_or_create(session, cmd.customer, now=now, actor=actor, label=name)
    customer_id = customer.id if customer else None
    # A customer made just now has no booking staff could have typed in.
    typed = (
        _by_start(session, cmd.start, source=None, customer_id=customer_id, manual=True)
        if customer and customer_id and cmd.link_typed and not matching.created_here(session, customer)
        else None
    )
    if typed is not None:
        # Staff typed this booking in by hand before the notice came: the notice names it.
        typed.note = f"{typed.note}\n{typed.source} の手入力を {name} と照合".strip()
        typed.source, typed.external_id, typed.updated_at = cmd.source, cmd.external_id, now
        typed.notice_at = cmd.as_of
        session.add(typed)
        _remember(session, typed)
        audit.by(
            session,
            "booking_linked",
            actor,
            customer_id=customer_id,
            booking_id=typed.id,
            external=name,
            at=now,
        )
        return Result(Status.LINKED, f"{name} linked to booking {typed.id} typed in by staff", typed.id)
    start = cmd.start
    booking = Booking(
        source=cmd.source,
        external_id=cmd.external_id,
        idempotency_key=cmd.idempotency_key,
        customer_id=customer_id,
        start=start,
        end=_end(env, start, cmd.end, cmd.menu),
        staff=_staff(env, cmd.staff),
        menu=cmd.menu or "",
        created_at=now,
        updated_at=now,
        message_id=actor.message_id,
        notice_at=cmd.as_of,
    )
    seats.name_ids(env.calendar, booking)
    if db.sole_writer(session):  # nobody can have booked it since `_already` looked
        add_now(session, booking)
        _remember(session, booking)
    else:
        session.flush()  # what came before stays, whatever happens to the insert
        try:
            with session.begin_nested():
                session.add(booking)
        except IntegrityError:
            # Another worker (another node) booked the same reservation since we looked.
            existing = _already(session, cmd)
            if existing is None:
                raise
            return _already_result(name, existing)
    audit.by(
        session,
        "booking_created",
        actor,
        customer_id=customer_id,
        booking_id=booking.id,
        external=name,
        start=start.isoformat(),
        staff=booking.staff,
        at=now,
    )
    found = conflict_records.check_and_record(session, env, booking, actor, now)
    seats.hold_recorded(session, env.calendar, booking)
    if found:
        return Result(
            Status.CONFLICT,
            f"{name} booked as {booking.id} with a conflict: {found[0]}",
            booking.id,
            tuple(found),
        )
    return Result(Status.CREATED, f"{name} booked as {booking.id}", booking.id)


def _find_for_move(session: Session, cmd: Move) -> Booking | None:
    found = by_external(session, cmd.source, cmd.external_id)
    if found is not None or cmd.previous_start is None:
        return found
    customer = matching.find(session, cmd.customer)
    return _by_start(
        session,
        cmd.previous_start,
        source=cmd.source,
        customer_id=customer.id if customer else None,
        manual=False,
    )


def _out_of_order(env: LedgerEnv, booking: Booking, cmd: Move) -> str:
    """Why applying this change now would put the booking back in time ("" when it would not)."""

    def local(t: datetime) -> str:
        return f"{t.astimezone(env.cfg.tz):%Y-%m-%d %H:%M}"

    if cmd.as_of is not None and booking.notice_at is not None and cmd.as_of < booking.notice_at:
        return (
            f"this change was sent at {local(cmd.as_of)}, older than the last notice applied to the "
            f"booking (sent at {local(booking.notice_at)})"
        )
    if cmd.unordered and booking.moved_at is not None and cmd.previous_start != booking.start:
        return (
            f"this change has no signed date and the booking was moved since ({local(booking.moved_at)}): "
            "it may be undoing that later change"
        )
    return ""


def move(session: Session, env: LedgerEnv, cmd: Move, actor: Actor, now: datetime) -> Result:
    name = label(cmd.source, cmd.external_id)
    booking = _find_for_move(session, cmd)
    if booking is None:
        return Result(Status.NOT_FOUND, f"the booking {name} changes is not in the ledger yet")
    if booking.status == BookingStatus.CANCELLED:
        return Result(Status.REFUSED, f"{name} changes booking {booking.id}, which was cancelled", booking.id)
    start = cmd.start
    end = _end(env, start, cmd.end, cmd.menu)
    staff = booking.staff if isinstance(cmd.staff, _Keep) else _staff(env, cmd.staff)
    menu = cmd.menu or booking.menu
    if (booking.start, booking.end, booking.staff, booking.menu) == (start, end, staff, menu):
        return Result(
            Status.ALREADY, f"{name} already moved (booking {booking.id}): nothing changed", booking.id
        )
    out_of_order = _out_of_order(env, booking, cmd)
    if out_of_order:
        reason = f"{name}: {out_of_order}: not applied (booking {booking.id})"
        return Result(Status.REFUSED, reason, booking.id)
    before = {"start": booking.start.isoformat(), "end": booking.end.isoformat(), "staff": booking.staff}
    old = (booking.start, booking.end)
    conflict_records.serialize_days(session, env, old, (start, end))
    booking.start, booking.end, booking.staff, booking.menu, booking.updated_at = start, end, staff, menu, now
    booking.version += 1  # links mailed for the old time stop working
    booking.moved_at = now
    reminders.withdraw(session, booking, "the booking was moved", now)
    if cmd.as_of is not None and (booking.notice_at is None or cmd.as_of > booking.notice_at):
        booking.notice_at = cmd.as_of
    session.add(booking)
    session.flush()
    audit.by(
        session,
        "booking_moved",
        actor,
        customer_id=booking.customer_id,
        booking_id=booking.id,
        external=name,
        before=before,
        after={"start": start.isoformat(), "end": end.isoformat(), "staff": staff},
        at=now,
    )
    conflict_records.resolve_for(session, booking, "moved", now)
    found = conflict_records.check_and_record(session, env, booking, actor, now)
    seats.release(session, booking.id or 0)
    seats.hold_recorded(session, env.calendar, booking)
    conflict_records.recheck_others(session, env, booking, old, "moved", actor, now)
    waitlist.seat_freed(session, env, booking, now, at=old[0])
    if found:
        return Result(
            Status.CONFLICT,
            f"{name} moved (booking {booking.id}) with a conflict: {found[0]}",
            booking.id,
            tuple(found),
        )
    return Result(Status.MOVED, f"{name} moved (booking {booking.id})", booking.id)


def cancel(session: Session, env: LedgerEnv, cmd: Cancel, actor: Actor, now: datetime) -> Result:
    name = label(cmd.source, cmd.external_id)
    booking = by_external(session, cmd.source, cmd.external_id)
    if booking is None and not cmd.external_id and cmd.start is not None:
        customer = matching.find(session, cmd.customer)
        booking = _by_start(
            session,
            cmd.start,
            source=cmd.source,
            customer_id=customer.id if customer else None,
            manual=False,
        )
    if booking is None:
        return Result(Status.NOT_FOUND, f"the booking {name} cancels is not in the ledger yet")
    if booking.status == BookingStatus.CANCELLED:
        return Result(
            Status.ALREADY, f"{name} already cancelled (booking {booking.id}): nothing changed", booking.id
        )
    booking.status, booking.updated_at = BookingStatus.CANCELLED, now
    booking.version += 1
    session.add(booking)
    reminders.withdraw(session, booking, "the booking was cancelled", now)
    seats.release(session, booking.id or 0)
    audit.by(
        session,
        "booking_cancelled",
        actor,
        customer_id=booking.customer_id,
        booking_id=booking.id,
        external=name,
        at=now,
    )
    conflict_records.resolve_for(session, booking, "cancelled", now)
    slot = (booking.start, booking.end)
    conflict_records.recheck_others(session, env, booking, slot, "cancelled", actor, now)
    waitlist.seat_freed(session, env, booking, now)
    return Result(Status.CANCELLED, f"{name} cancelled (booking {booking.id}); the slot is free", booking.id)
