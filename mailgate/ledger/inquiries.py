"""Inquiries from vendors' contact forms: recorded once, tracked to done, listed every evening."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from mailgate import audit, outbox
from mailgate.context import Context
from mailgate.intent import Intent
from mailgate.ledger import matching
from mailgate.ledger.bookings import Outcome
from mailgate.models import Inquiry, InquiryStatus, Message, MessageState


def record(session: Session, ctx: Context, message: Message, intent: Intent, now: datetime) -> Outcome:
    existing = session.exec(select(Inquiry).where(Inquiry.message_id == message.id)).first()
    if existing is not None:
        return Outcome(
            MessageState.APPLIED, f"inquiry {existing.id} already recorded: nothing changed", "already"
        )
    details = intent.customer
    customer = matching.find(session, details) if details else None
    kind = intent.fields.get("kind") or "question"
    inquiry = Inquiry(
        source=intent.source or "mail",
        message_id=message.id,
        customer_id=customer.id if customer else None,
        name=details.get("name", ""),
        email=details.get("email", ""),
        body=intent.fields.get("message", ""),
        kind=kind,
        received_at=message.received_at or now,
        updated_at=now,
    )
    session.add(inquiry)
    session.flush()
    audit.record(
        session,
        "inquiry_recorded",
        f"message:{message.id}",
        message_id=message.id,
        customer_id=inquiry.customer_id,
        inquiry_id=inquiry.id,
        inquiry_kind=kind,
        at=now,
    )
    what = "a booking request" if kind == "booking_request" else "a question"
    return Outcome(
        MessageState.APPLIED,
        f"inquiry {inquiry.id} recorded: {what} from {inquiry.name or inquiry.email}",
        "inquiry",
    )


def update(
    session: Session,
    inquiry_id: int,
    *,
    operator: str,
    now: datetime,
    status: str | None = None,
    assignee: str | None = None,
    next_action_on: date | None = None,
    booking_id: int | None = None,
) -> Inquiry:
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise LookupError(f"no inquiry {inquiry_id}")
    if status is not None and status not in InquiryStatus.ALL:
        raise ValueError(f"status must be one of {', '.join(InquiryStatus.ALL)}")
    changes = {
        k: v
        for k, v in {
            "status": status,
            "assignee": assignee,
            "next_action_on": next_action_on,
            "booking_id": booking_id,
        }.items()
        if v is not None
    }
    for k, v in changes.items():
        setattr(inquiry, k, v)
    inquiry.updated_at = now
    session.add(inquiry)
    audit.record(
        session,
        "inquiry_updated",
        f"operator:{operator}",
        customer_id=inquiry.customer_id,
        inquiry_id=inquiry.id,
        **{k: str(v) for k, v in changes.items()},
        at=now,
    )
    return inquiry


def listing(session: Session, *, status: str | None = None) -> list[Inquiry]:
    stmt = select(Inquiry).order_by(col(Inquiry.received_at))
    if status:
        stmt = stmt.where(Inquiry.status == status)
    return list(session.exec(stmt))


def unbooked_on(session: Session, ctx: Context, day: date) -> list[Inquiry]:
    """The day's inquiries (shop time) that did not become bookings and are not done."""
    start = datetime.combine(day, time(0), ctx.cfg.tz)
    stmt = select(Inquiry).where(
        col(Inquiry.received_at) >= start,
        col(Inquiry.received_at) < start + timedelta(days=1),
        col(Inquiry.booking_id).is_(None),
        Inquiry.status != InquiryStatus.DONE,
    )
    return list(session.exec(stmt.order_by(col(Inquiry.received_at))))


def send_digest(session: Session, ctx: Context, day: date, now: datetime) -> int:
    """Queue the evening list to [shop] staff_alerts; returns how many inquiries it lists (0: no mail)."""
    pending = unbooked_on(session, ctx, day)
    if not pending:
        return 0
    for to in ctx.cfg.shop.staff_alerts:
        outbox.enqueue(
            session,
            ctx,
            to=to,
            template="inquiry_digest",
            now=now,
            actor="system",
            capped=False,
            inquiries=pending,
            day=day,
        )
    audit.record(
        session, "digest_sent", "system", day=day.isoformat(), inquiries=[q.id for q in pending], at=now
    )
    return len(pending)
