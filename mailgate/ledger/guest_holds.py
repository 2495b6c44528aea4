"""A guest's booking on the public page (no registration): always a tentative hold (仮予約) whose
confirm link goes to the address typed and must be used within [booking] tentative_minutes, or the
seat is freed. Anyone can type any address, so open holds are limited per mailbox, per web client and
in all, counted in the booking's own transaction (one guest booking at a time across nodes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from mailgate import audit, db
from mailgate.audit import Actor
from mailgate.config.booking import BookingSection
from mailgate.ledger import fitting, matching
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.fit_rules import refuse
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Result, Status
from mailgate.mail.addresses import mailbox_key
from mailgate.models import Booking, BookingStatus, Customer

_LOCK = "guest-holds"


@dataclass(frozen=True)
class GuestBook:
    start: datetime
    menu: str
    staff: str | None  # None: anyone
    person: Person  # name, reading, phone and email, as typed and normalized
    client: str  # the web client's address (a network for IPv6): the per-client limit counts it
    idempotency_key: str | None = None
    addons: tuple[str, ...] = ()  # the menu's add-ons ticked
    answers: tuple[str, ...] = ()  # to the menu's questions


def book(session: Session, env: LedgerEnv, cmd: GuestBook, actor: Actor, now: datetime) -> Result:
    if cmd.idempotency_key and (done := fitting.by_key(session, cmd.idempotency_key)) is not None:
        return Result(Status.ALREADY, f"already booked as {done.id}", done.id, state=done.status)
    db.serialize(session, _LOCK)
    fitting.expire_due(session, now)  # holds that ran out count no more
    over = over_limit(session, env.cfg.booking, cmd.person.email, cmd.client)
    if over is not None:
        return over
    customer = _customer(session, cmd.person, actor, now)
    fit = fitting.FitBook(
        source="web",
        start=cmd.start,
        menu=cmd.menu,
        staff=cmd.staff,
        customer_id=customer.id,
        client=cmd.client,
        idempotency_key=cmd.idempotency_key,
        addons=cmd.addons,
        answers=cmd.answers,
    )
    return fitting.book(session, env, fit, actor, now)


def over_limit(session: Session, rules: BookingSection, email: str, client: str) -> Result | None:
    """A refusal (code guest_email | guest_client | guest_total) when one more open hold is too many.
    There are at most guest_holds_total open holds, so they are counted here, not in SQL: a mailbox
    is its address without case or +tag (mail/addresses.mailbox_key)."""
    stmt = (
        select(Booking.client, Customer.email)
        .join(Customer, col(Customer.id) == col(Booking.customer_id), isouter=True)
        .where(Booking.status == BookingStatus.TENTATIVE, col(Booking.client).is_not(None))
    )
    holds = list(session.exec(stmt))
    mailbox = mailbox_key(email)
    same_mailbox = [c for _, c in holds if c and mailbox_key(c) == mailbox]
    checks = (
        ("guest_email", rules.guest_holds_per_email, same_mailbox),
        ("guest_client", rules.guest_holds_per_client, [h for h, _ in holds if h == client]),
        ("guest_total", rules.guest_holds_total, holds),
    )
    for code, limit, counted in checks:
        if limit and len(counted) >= limit:
            return refuse(code, f"{len(counted)} open guest holds ([booking] guest_holds_* = {limit})").result
    return None


def _customer(session: Session, person: Person, actor: Actor, now: datetime) -> Customer:
    """The customer with this address (the confirm link must reach what the guest typed), with blanks
    filled in from the form; a new ledger customer when there is none. Never matched by phone or name:
    that could send the link to someone else's address."""
    found = matching.find_or_create(session, Person(email=person.email), now=now, actor=actor, label="予約")
    assert found is not None and found.id is not None
    filled = {
        k: person.get(k) for k in ("name", "name_kana", "phone") if person.get(k) and not getattr(found, k)
    }
    if filled:
        for key, value in filled.items():
            setattr(found, key, value)
        session.add(found)
        audit.by(session, "customer_updated", actor, customer_id=found.id, **filled)
    return found
