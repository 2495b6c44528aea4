"""Vendor notices applied to the ledger: book, change, cancel — each idempotent, each checked for
conflicts, all in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.context import Context
from mailgate.intent import Intent
from mailgate.ledger import conflicts, deferred, matching
from mailgate.models import Booking, BookingStatus, Message, MessageState


@dataclass(frozen=True)
class Outcome:
    state: str  # the message's final state
    reason: str
    tag: str  # created | linked | already | moved | cancelled | conflict | deferred | held (reconcile)


def label(source: str | None, external_id: str | None) -> str:
    return f"{(source or '?').upper()} {external_id or '(番号なし)'}"


def _times(ctx: Context, intent: Intent) -> tuple[datetime, datetime]:
    f = intent.fields
    start = utc(f["start"])
    if f.get("end"):
        return start, utc(f["end"])
    return start, start + ctx.calendar.duration(intent.fields.get("menu"))


def utc(iso: str) -> datetime:
    """Times are stored and compared in UTC; notices give them with the shop's offset."""
    return datetime.fromisoformat(iso).astimezone(UTC)


def _staff(ctx: Context, written: str | None) -> str | None:
    if not written:
        return None
    return ctx.calendar.staff_named(written) or written


def by_external(session: Session, source: str | None, external_id: str | None) -> Booking | None:
    if not source or not external_id:
        return None
    stmt = (
        select(Booking).where(Booking.source == source, Booking.external_id == external_id).with_for_update()
    )
    return session.exec(stmt).first()


def _by_start(
    session: Session, start: datetime, *, source: str | None, customer_id: int | None, manual: bool
) -> Booking | None:
    """A live booking at `start`: one staff typed in (no vendor number), or one from `source`."""
    stmt = select(Booking).where(Booking.start == start, Booking.status == BookingStatus.BOOKED)
    if customer_id is not None:
        stmt = stmt.where(Booking.customer_id == customer_id)
    if manual:
        stmt = stmt.where(col(Booking.external_id).is_(None))
    elif source:
        stmt = stmt.where(Booking.source == source)
    return session.exec(stmt.order_by(col(Booking.id))).first()


def _customer_id(session: Session, intent: Intent, message: Message, now: datetime) -> int | None:
    customer = matching.find_or_create(
        session,
        intent.customer,
        now=now,
        actor=f"message:{message.id}",
        message_id=message.id,
        label=label(intent.source, intent.fields.get("external_id")),
    )
    return customer.id if customer else None


def book(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    source, ext = intent.source or "mail", intent.fields.get("external_id")
    name = label(source, ext)
    existing = by_external(session, source, ext)
    if existing is not None:
        what = "was cancelled since" if existing.status == BookingStatus.CANCELLED else "is in the ledger"
        return Outcome(
            MessageState.APPLIED, f"{name} already {what} (booking {existing.id}): nothing changed", "already"
        )
    start, end = _times(ctx, intent)
    customer_id = _customer_id(session, intent, message, now)
    actor = f"message:{message.id}"
    typed = (
        _by_start(session, start, source=None, customer_id=customer_id, manual=True) if customer_id else None
    )
    if typed is not None:
        # Staff typed this booking in by hand before the notice came: the notice names it.
        typed.note = f"{typed.note}\n{typed.source} の手入力を {name} と照合".strip()
        typed.source, typed.external_id, typed.updated_at = source, ext, now
        session.add(typed)
        audit.record(
            session,
            "booking_linked",
            actor,
            customer_id=customer_id,
            message_id=message.id,
            booking_id=typed.id,
            external=name,
            at=now,
        )
        deferred.release(session, source, ext, now)
        return Outcome(
            MessageState.APPLIED, f"{name} linked to booking {typed.id} typed in by staff", "linked"
        )
    booking = Booking(
        source=source,
        external_id=ext,
        customer_id=customer_id,
        start=start,
        end=end,
        staff=_staff(ctx, intent.fields.get("staff")),
        menu=intent.fields.get("menu") or "",
        created_at=now,
        updated_at=now,
        message_id=message.id,
    )
    session.flush()  # what came before stays, whatever happens to the insert
    try:
        with session.begin_nested():
            session.add(booking)
    except IntegrityError:
        # Another worker (another node) booked the same reservation since we looked.
        existing = by_external(session, source, ext)
        if existing is None:
            raise
        return Outcome(
            MessageState.APPLIED,
            f"{name} already is in the ledger (booking {existing.id}): nothing changed",
            "already",
        )
    audit.record(
        session,
        "booking_created",
        actor,
        customer_id=customer_id,
        message_id=message.id,
        booking_id=booking.id,
        external=name,
        start=start.isoformat(),
        staff=booking.staff,
        at=now,
    )
    deferred.release(session, source, ext, now)
    found = conflicts.check_and_record(session, ctx, booking, message, now)
    if found:
        return Outcome(
            MessageState.APPLIED, f"{name} booked as {booking.id} with a conflict: {found[0]}", "conflict"
        )
    return Outcome(MessageState.APPLIED, f"{name} booked as {booking.id}", "created")


def _find_for_change(session: Session, intent: Intent) -> Booking | None:
    found = by_external(session, intent.source, intent.fields.get("external_id"))
    if found is not None:
        return found
    previous = intent.fields.get("previous") or {}
    if not previous.get("start"):
        return None
    customer = matching.find(session, intent.customer)
    start = utc(previous["start"])
    return _by_start(
        session, start, source=intent.source, customer_id=customer.id if customer else None, manual=False
    )


def change(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    name = label(intent.source, intent.fields.get("external_id"))
    booking = _find_for_change(session, intent)
    if booking is None:
        return deferred.defer(
            session, ctx, message, intent, now, why=f"the booking {name} changes is not in the ledger yet"
        )
    if booking.status == BookingStatus.CANCELLED:
        return Outcome(MessageState.HELD, f"{name} changes booking {booking.id}, which was cancelled", "held")
    start, end = _times(ctx, intent)
    staff = _staff(ctx, intent.fields.get("staff")) if "staff" in intent.fields else booking.staff
    menu = intent.fields.get("menu") or booking.menu
    if (booking.start, booking.end, booking.staff, booking.menu) == (start, end, staff, menu):
        return Outcome(
            MessageState.APPLIED, f"{name} already moved (booking {booking.id}): nothing changed", "already"
        )
    before = {"start": booking.start.isoformat(), "end": booking.end.isoformat(), "staff": booking.staff}
    booking.start, booking.end, booking.staff, booking.menu, booking.updated_at = start, end, staff, menu, now
    session.add(booking)
    session.flush()
    audit.record(
        session,
        "booking_moved",
        f"message:{message.id}",
        customer_id=booking.customer_id,
        message_id=message.id,
        booking_id=booking.id,
        external=name,
        before=before,
        after={"start": start.isoformat(), "end": end.isoformat(), "staff": staff},
        at=now,
    )
    conflicts.resolve_for(session, booking, "moved", now)
    found = conflicts.check_and_record(session, ctx, booking, message, now)
    if found:
        return Outcome(
            MessageState.APPLIED,
            f"{name} moved (booking {booking.id}) with a conflict: {found[0]}",
            "conflict",
        )
    return Outcome(MessageState.APPLIED, f"{name} moved (booking {booking.id})", "moved")


def cancel(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    name = label(intent.source, intent.fields.get("external_id"))
    booking = by_external(session, intent.source, intent.fields.get("external_id"))
    if booking is None and not intent.fields.get("external_id") and intent.fields.get("start"):
        customer = matching.find(session, intent.customer)
        booking = _by_start(
            session,
            utc(intent.fields["start"]),
            source=intent.source,
            customer_id=customer.id if customer else None,
            manual=False,
        )
    if booking is None:
        return deferred.defer(
            session, ctx, message, intent, now, why=f"the booking {name} cancels is not in the ledger yet"
        )
    if booking.status == BookingStatus.CANCELLED:
        return Outcome(
            MessageState.APPLIED,
            f"{name} already cancelled (booking {booking.id}): nothing changed",
            "already",
        )
    booking.status, booking.updated_at = BookingStatus.CANCELLED, now
    session.add(booking)
    audit.record(
        session,
        "booking_cancelled",
        f"message:{message.id}",
        customer_id=booking.customer_id,
        message_id=message.id,
        booking_id=booking.id,
        external=name,
        at=now,
    )
    conflicts.resolve_for(session, booking, "cancelled", now)
    return Outcome(
        MessageState.APPLIED, f"{name} cancelled (booking {booking.id}); the slot is free", "cancelled"
    )
