"""Erasing a person (退会, or an operator's erase; APPI): afterwards nothing in the database names them.
The customer row stays, anonymous, so bookings and the audit trail keep their subject; the messages
that were about them keep only what makes a late redelivery a duplicate (the dedupe key, state).

Personal data is found by what it is about (the customer's rows, the messages that made them) and
by what it says: every spelling of the name, reading, phone and addresses the customer and the
notices about them used. What lives outside the database (spool files, Maildir copies of sent mail)
is returned for the caller to remove after the commit (pipeline/erasure.py)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, or_, select

from mailgate import audit
from mailgate.customer_addresses import CustomerAddress
from mailgate.ledger.customers import revoke
from mailgate.ledger.notes import erase_notes
from mailgate.mail.addresses import mailbox_key
from mailgate.models import (
    Booking,
    Conflict,
    Customer,
    CustomerStatus,
    Event,
    Inquiry,
    Message,
    Outbox,
    OutboxState,
    RawMessage,
    Token,
)
from mailgate.outbound.sender import maildir_name

ERASED = "(erased)"
ERASED_RAW = "erased:"  # a Message's spool_path once its bytes are gone with its customer
PURGED_RAW = "purged:"  # ... or with its retention time (pipeline/retention.py)
IN_DB = "db:"
PERSONAL_KEYS = frozenset({"name", "name_kana", "email", "phone", "memo", "to", "from", "customer"})
_IGNORED = re.compile(r"[\s\-‐‑–—−－ー()（）・.]")
_ADDRESS = re.compile(r"[^\s<>()（）:：,，、]+@[^\s<>()（）,，、]+")


def _key(text: str) -> str:
    """How a value is looked for: width, case, spaces, dashes and dots do not matter."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", text)).casefold()


@dataclass
class Erased:
    """What the database no longer has, and what the caller removes outside it after the commit."""

    customer_id: int
    messages: list[int] = field(default_factory=list)
    spool_files: list[str] = field(default_factory=list)  # relative to the spool directory
    maildir_names: list[str] = field(default_factory=list)  # copies of sent mail in the outbox Maildir
    outbox: int = 0
    events: int = 0


@dataclass
class Person:
    """Every spelling of the person the erase looks for."""

    keys: set[str] = field(default_factory=set)
    raw: set[str] = field(default_factory=set)  # as written, for the database to search

    def add(self, *values: object) -> None:
        for value in values:
            if isinstance(value, str) and len(_key(value)) >= 3:
                self.keys.add(_key(value))
                self.raw.add(value.strip())

    def mentioned_in(self, text: str) -> bool:
        key = _key(text)
        return any(k in key for k in self.keys)

    def scrub(self, text: str) -> str:
        """Every line that mentions the person, replaced."""
        return "\n".join(ERASED if self.mentioned_in(line) else line for line in text.split("\n"))

    def scrub_detail(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.scrub_detail(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub_detail(v, key) for v in value]
        if isinstance(value, str) and (key in PERSONAL_KEYS or self.mentioned_in(value)):
            return ERASED
        return value


def _ids(session: Session, stmt: Any) -> set[int]:
    return {i for i in session.exec(stmt) if i is not None}


def _linked(session: Session, customer: Customer) -> list[CustomerAddress]:
    return list(session.exec(select(CustomerAddress).where(CustomerAddress.customer_id == customer.id)))


def _addresses(customer: Customer, linked: list[CustomerAddress]) -> list[str]:
    """Email 1, the linked addresses, and any the memo names."""
    return [customer.email, *(a.email for a in linked), *_ADDRESS.findall(customer.memo)]


def messages_of(session: Session, customer: Customer) -> set[int]:
    """The stored messages from or about a customer: what made their rows, and what their addresses
    sent (the customer's history shows them too)."""
    return _messages_of(session, customer, _addresses(customer, _linked(session, customer)))


def _messages_of(session: Session, customer: Customer, addresses: Iterable[str]) -> set[int]:
    cid = customer.id
    audit.written(session)
    found = _ids(session, select(Event.message_id).where(Event.customer_id == cid))
    found |= _ids(session, select(Token.message_id).where(Token.customer_id == cid))
    found |= _ids(session, select(Booking.message_id).where(Booking.customer_id == cid))
    found |= _ids(session, select(Inquiry.message_id).where(Inquiry.customer_id == cid))
    found |= _ids(session, select(Outbox.cause_message_id).where(Outbox.customer_id == cid))
    lowered = [a.lower() for a in addresses if a]
    if lowered:
        found |= _ids(session, select(Message.id).where(func.lower(Message.from_addr).in_(lowered)))
    return found


def _person(customer: Customer, messages: list[Message]) -> Person:
    person = Person()
    person.add(customer.name, customer.name_kana, customer.phone, customer.email)
    person.add(*_ADDRESS.findall(customer.memo))
    for m in messages:
        person.add(m.from_addr, m.mail_from)
        who = ((m.decision or {}).get("intent") or {}).get("customer") or {}
        person.add(*(who.get(k) for k in ("name", "name_kana", "email", "phone")))
    return person


def erase(session: Session, customer: Customer, now: datetime, actor: str, token_id: int | None) -> Erased:
    """Erase `customer` in the caller's transaction."""
    assert customer.id is not None
    linked = _linked(session, customer)
    addresses = _addresses(customer, linked)
    message_ids = _messages_of(session, customer, addresses)
    first = list(session.exec(select(Message).where(col(Message.id).in_(message_ids))))
    person = _person(customer, first)
    person.add(*addresses)
    # Rows of other recipients share the bytes of a message: they go with it.
    paths = {m.spool_path for m in first if m.spool_path and not m.spool_path.startswith(ERASED_RAW)}
    sharing = select(Message).where(col(Message.spool_path).in_(paths)) if paths else None
    messages = {m.id: m for m in [*first, *(session.exec(sharing) if sharing is not None else [])]}
    erased = Erased(customer.id, messages=sorted(i for i in messages if i is not None))
    for m in messages.values():
        _erase_message(session, m, person, erased)
    _erase_outbox(session, customer, addresses, set(messages), person, erased)
    erased.events = _erase_events(session, customer, set(messages), person)
    for inquiry in session.exec(
        select(Inquiry).where(or_(Inquiry.customer_id == customer.id, col(Inquiry.message_id).in_(messages)))
    ):
        inquiry.name, inquiry.email, inquiry.body = "", "", ERASED
        session.add(inquiry)
    erase_notes(session, customer.id)
    for booking in session.exec(select(Booking).where(Booking.customer_id == customer.id)):
        booking.note = person.scrub(booking.note)
        session.add(booking)
        for conflict in session.exec(select(Conflict).where(Conflict.booking_id == booking.id)):
            conflict.reasons = [person.scrub(r) for r in conflict.reasons]
            conflict.resolution = person.scrub(conflict.resolution)
            session.add(conflict)
    for address in linked:
        session.delete(address)
    customer.status = CustomerStatus.DELETED
    customer.email, customer.email_key, customer.memo = "", None, ""
    customer.name = customer.name_kana = customer.phone = customer.pin_hash = ""
    customer.locked_until = None
    customer.unreachable_since, customer.unreachable_reason = None, ""
    session.add(customer)
    revoke(session, customer.id, None, now)
    audit.record(
        session, "customer_deleted", actor, customer_id=customer.id, token_id=token_id, messages=len(messages)
    )
    return erased


def forget_message(session: Session, m: Message, marker: str) -> str | None:
    """A message's bytes and personal fields gone, its row kept (the dedupe key makes a redelivery a
    duplicate; state and reason stay for the operator). Returns the spool file to remove, if any."""
    path, removed = m.spool_path, None
    if path.startswith(IN_DB):
        raw = session.get(RawMessage, path.removeprefix(IN_DB))
        if raw is not None:
            session.delete(raw)
    elif path and not path.startswith((ERASED_RAW, PURGED_RAW)):
        removed = path
    outcome = (m.decision or {}).get("outcome") or {}
    m.decision = {
        marker.rstrip(":"): True,
        "outcome": {"state": outcome.get("state"), "tag": outcome.get("tag")},
    }
    m.spool_path = marker
    m.from_addr, m.mail_from, m.subject, m.header_message_id, m.client = "", None, "", "", None
    session.add(m)
    return removed


def _erase_message(session: Session, m: Message, person: Person, erased: Erased) -> None:
    removed = forget_message(session, m, ERASED_RAW)
    if removed is not None and removed not in erased.spool_files:
        erased.spool_files.append(removed)
    m.reason = person.scrub(m.reason)
    m.traceback = person.scrub(m.traceback) if m.traceback else m.traceback
    session.add(m)


def forget_sent(row: Outbox) -> None:
    """A sent mail's text and addresses gone; the row stays (when, which template, the outcome)."""
    row.to_addr, row.to_key, row.in_reply_to, row.references = "", "", "", ""
    row.subject, row.body, row.links = "", "", None


def _erase_outbox(
    session: Session,
    customer: Customer,
    addresses: list[str],
    messages: set[int],
    person: Person,
    erased: Erased,
) -> None:
    theirs = or_(Outbox.customer_id == customer.id, col(Outbox.cause_message_id).in_(messages))
    keys = [mailbox_key(a) for a in addresses if a]
    if keys:
        theirs = or_(theirs, col(Outbox.to_key).in_(keys))
    mentioning = [col(c).contains(v) for v in person.raw for c in (Outbox.subject, Outbox.body)]
    for row in session.exec(select(Outbox).where(or_(theirs, *mentioning))):
        mine = row.customer_id == customer.id or person.mentioned_in(row.to_addr)
        if row.state == OutboxState.SENT:
            erased.maildir_names.append(maildir_name(row))
        if mine:
            forget_sent(row)
            if row.state in (OutboxState.QUEUED, OutboxState.SENDING):
                row.state, row.claimed_by, row.lease_until = OutboxState.FAILED, None, None
        else:  # a staff mail that names them
            row.subject, row.body = person.scrub(row.subject), person.scrub(row.body)
        row.last_error = person.scrub(row.last_error)
        session.add(row)
        erased.outbox += 1


def _erase_events(session: Session, customer: Customer, messages: set[int], person: Person) -> int:
    tokens = _ids(session, select(Token.id).where(Token.customer_id == customer.id))
    about = or_(
        Event.customer_id == customer.id, col(Event.message_id).in_(messages), col(Event.token_id).in_(tokens)
    )
    count = 0
    audit.written(session)
    for event in session.exec(select(Event).where(about)):
        event.detail = person.scrub_detail(event.detail)
        session.add(event)
        count += 1
    return count
