"""Delivery reports about mail we sent, matched to the outbox row by its signed return path: a hard
bounce (or [mail] soft_bounces soft ones within soft_bounce_days) marks the customer's address as
failing, and no automatic mail goes to it (outbound/queue.py) until they write in or register again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from mailgate import audit
from mailgate.audit import Actor
from mailgate.customer_addresses import by_address
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.results import Result, Status
from mailgate.models import Customer, CustomerStatus, Event, Outbox
from mailgate.outbound import return_path

MAX_REASON = 400


@dataclass(frozen=True)
class Bounce:
    """What a report said (rules/bounce_mail.py): the token of bounce+TOKEN@ and the failure."""

    tag: str
    kind: str  # hard | soft | delay | ""
    status: str
    diagnostic: str
    form: str  # rfc3464 | docomo | au | softbank | text

    @classmethod
    def of(cls, fields: dict[str, Any]) -> Bounce:
        return cls(*(str(fields.get(k) or "") for k in ("tag", "kind", "status", "diagnostic", "form")))

    def reason(self) -> str:
        """Why the address fails, without any address in it (a report quotes them; erasure and
        `customers --unreachable` should not carry them)."""
        words = " ".join("<address>" if "@" in w else w for w in self.diagnostic.split())
        text = f"{self.kind} bounce {self.status or '(no status)'} ({self.form})"
        return (text + (f": {words}" if words else ""))[:MAX_REASON]


def _ignored(reason: str) -> Result:
    return Result(Status.REFUSED, reason, code="ignored")


def record(session: Session, env: LedgerEnv, bounce: Bounce, actor: Actor, now: datetime) -> Result:
    """A delivery report: RECORDED (the outbox row and its customer updated), or REFUSED with
    code "ignored" and why (no token, forged, unknown row, a delay, a customer since changed)."""
    if not bounce.tag:
        return _ignored("a delivery report to the bounce address without a token: not about a mail of ours")
    outbox_id = return_path.outbox_id_of(bounce.tag, env.signer.secrets)
    if outbox_id is None:
        return _ignored(f"bounce token {bounce.tag!r} is not one we signed: forged or not ours")
    row = session.get(Outbox, outbox_id)
    if row is None:
        return _ignored(f"no outgoing mail {outbox_id} any more")
    if bounce.kind == "delay":
        return _ignored(f"outbox {outbox_id}: a delay warning, the remote server still tries")
    if not bounce.kind:
        return _ignored(f"outbox {outbox_id}: the report says neither a permanent nor a temporary failure")
    if actor.message_id is not None and _counted(session, actor.message_id):
        return Result(Status.ALREADY, f"outbox {outbox_id}: this report was applied before")
    row.last_error = f"bounced: {bounce.reason()}"[:MAX_REASON]
    session.add(row)
    customer = session.get(Customer, row.customer_id) if row.customer_id else None
    if customer is None or customer.status == CustomerStatus.DELETED:
        return Result(Status.RECORDED, f"outbox {outbox_id}: {bounce.reason()}; no customer to mark")
    if customer.email.lower() != row.to_addr.lower():
        return _ignored(f"outbox {outbox_id} went to an address customer {customer.id} no longer has")
    audit.by(session, f"bounce_{bounce.kind}", actor, customer_id=customer.id, outbox_id=outbox_id,
             status=bounce.status, form=bounce.form)  # fmt: skip
    if customer.unreachable_since is not None:
        return Result(Status.ALREADY, f"customer {customer.id} already unreachable: {bounce.reason()}")
    if bounce.kind == "soft" and not _soft_limit_reached(env, customer, now):
        return Result(
            Status.RECORDED,
            f"customer {customer.id}: soft bounce {customer.soft_bounces} of {env.cfg.mail.soft_bounces}: "
            f"{bounce.reason()}",
        )
    why = bounce.reason()
    if bounce.kind == "soft":
        why = f"{customer.soft_bounces} soft bounces in {env.cfg.mail.soft_bounce_days} days, the last: {why}"
    mark(session, customer, why[:MAX_REASON], actor, now)
    return Result(Status.RECORDED, f"customer {customer.id} unreachable: {why}")


def _counted(session: Session, message_id: int) -> bool:
    """The report was applied before (a replay): a soft bounce counts once."""
    kinds = col(Event.kind).in_(["bounce_hard", "bounce_soft"])
    audit.written(session)
    return session.exec(select(Event.id).where(Event.message_id == message_id, kinds)).first() is not None


def _soft_limit_reached(env: LedgerEnv, customer: Customer, now: datetime) -> bool:
    window = timedelta(days=env.cfg.mail.soft_bounce_days)
    since = customer.soft_bounces_since
    if since is None or now - since > window:
        customer.soft_bounces, customer.soft_bounces_since = 0, now
    customer.soft_bounces += 1
    return customer.soft_bounces >= env.cfg.mail.soft_bounces


def mark(session: Session, customer: Customer, reason: str, actor: Actor, now: datetime) -> None:
    customer.unreachable_since, customer.unreachable_reason = now, reason
    session.add(customer)
    audit.by(session, "customer_unreachable", actor, customer_id=customer.id, reason=reason)


def clear(session: Session, customer: Customer, why: str, actor: Actor) -> bool:
    """The address works again (the customer wrote from it, or registered again): True if it was marked."""
    was = customer.unreachable_since is not None
    if was or customer.soft_bounces:
        customer.unreachable_since, customer.unreachable_reason = None, ""
        customer.soft_bounces, customer.soft_bounces_since = 0, None
        session.add(customer)
    if was:
        audit.by(session, "customer_reachable", actor, customer_id=customer.id, why=why)
    return was


def wrote_in(session: Session, email: str, actor: Actor) -> Customer | None:
    """A customer's own mail from their address: the address works (a bounce marked it before).
    Returns the address's customer, None for nobody's (the signup that follows needs no lookup)."""
    if not email:
        return None
    customer = by_address(session, email)
    # The mark is about email 1: mail from an extra address proves only that one works.
    if customer is not None and customer.email.lower() == email.lower():
        clear(session, customer, "wrote in from the address", actor)
    return customer


def unreachable(session: Session) -> list[Customer]:
    """Customers mail cannot reach, the most recent first."""
    stmt = select(Customer).where(col(Customer.unreachable_since).is_not(None))
    return list(session.exec(stmt.order_by(col(Customer.unreachable_since).desc(), col(Customer.id))))
