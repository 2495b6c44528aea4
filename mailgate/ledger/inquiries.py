"""Inquiries from vendors' contact forms: recorded once, tracked to done, listed every evening."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.audit import SYSTEM, Actor
from mailgate.ledger import matching, staff_alerts
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Result, Status
from mailgate.models import Inquiry, InquiryStatus


@dataclass(frozen=True)
class Ask:
    """An inquiry as a vendor's contact form relays it."""

    source: str
    kind: str  # booking_request | question
    body: str
    person: Person
    received_at: datetime


def record(session: Session, cmd: Ask, actor: Actor, now: datetime) -> Result:
    """Once per causing message: a redelivered or replayed inquiry is not recorded twice."""
    if actor.message_id is not None:
        existing = session.exec(select(Inquiry).where(Inquiry.message_id == actor.message_id)).first()
        if existing is not None:
            return Result(Status.ALREADY, f"inquiry {existing.id} already recorded: nothing changed")
    customer = matching.find(session, cmd.person)
    inquiry = Inquiry(
        source=cmd.source,
        message_id=actor.message_id,
        customer_id=customer.id if customer else None,
        name=cmd.person.name,
        email=cmd.person.email,
        body=cmd.body,
        kind=cmd.kind,
        received_at=cmd.received_at,
        updated_at=now,
    )
    session.add(inquiry)
    session.flush()
    audit.by(
        session,
        "inquiry_recorded",
        actor,
        customer_id=inquiry.customer_id,
        inquiry_id=inquiry.id,
        inquiry_kind=cmd.kind,
        at=now,
    )
    what = "a booking request" if cmd.kind == "booking_request" else "a question"
    return Result(
        Status.RECORDED, f"inquiry {inquiry.id} recorded: {what} from {inquiry.name or inquiry.email}"
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
    audit.by(
        session,
        "inquiry_updated",
        Actor.operator(operator),
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


def unbooked_on(session: Session, env: LedgerEnv, day: date) -> list[Inquiry]:
    """The day's inquiries (shop time) that did not become bookings and are not done."""
    start = datetime.combine(day, time(0), env.cfg.tz)
    stmt = select(Inquiry).where(
        col(Inquiry.received_at) >= start,
        col(Inquiry.received_at) < start + timedelta(days=1),
        col(Inquiry.booking_id).is_(None),
        Inquiry.status != InquiryStatus.DONE,
    )
    return list(session.exec(stmt.order_by(col(Inquiry.received_at))))


def send_digest(session: Session, env: LedgerEnv, day: date, now: datetime) -> int:
    """Queue the evening list to [shop] staff_alerts; returns how many inquiries it lists (0: no mail)."""
    pending = unbooked_on(session, env, day)
    if not pending:
        return 0
    staff_alerts.to_staff(session, env, "inquiry_digest", now, inquiries=pending, day=day)
    audit.by(session, "digest_sent", SYSTEM, day=day.isoformat(), inquiries=[q.id for q in pending], at=now)
    return len(pending)
