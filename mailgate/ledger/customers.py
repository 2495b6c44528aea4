"""Customers: registration, PIN login, settings (a blank mail's signup is in signup.py). Each function
runs inside the caller's transaction and writes its own audit events and outgoing mail there."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from mailgate import audit, normalize, tokens
from mailgate.audit import Actor
from mailgate.customer_addresses import by_address
from mailgate.ledger import bounces, matching
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.pins import hash_pin, pin_keys
from mailgate.links import Link
from mailgate.models import Customer, CustomerStatus, Token


def by_email(session: Session, email: str) -> Customer | None:
    """The customer of email 1 or of an extra address (a customer who changed phones)."""
    return by_address(session, email)


@dataclass(frozen=True)
class Details:
    name: str
    name_kana: str
    phone: str


def find_for_operator(session: Session, text: str) -> list[Customer]:
    """The customers an operator means by a mail address, a phone number (all who share it) or #ID."""
    text = text.strip()
    if text.startswith("#") and text[1:].isdigit():
        found = session.get(Customer, int(text[1:]))
        return [found] if found else []
    if "@" in text:
        by_address = by_email(session, text)
        return [by_address] if by_address else []
    try:
        phone = normalize.phone(text)
    except normalize.NormalizeError:
        return []
    return list(session.exec(select(Customer).where(Customer.phone == phone).order_by(col(Customer.id))))


def read_details(form: dict[str, str]) -> tuple[Details | None, dict[str, str]]:
    """Normalized details, or the Japanese message per field that must be corrected."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for key, fn in (("name", normalize.name), ("name_kana", normalize.kana), ("phone", normalize.phone)):
        try:
            values[key] = fn(form.get(key, ""))
        except normalize.NormalizeError as e:
            errors[key] = str(e)
    if errors:
        return None, errors
    return Details(**values), {}


def read_new_pin(form: dict[str, str]) -> tuple[str | None, dict[str, str]]:
    try:
        pin = normalize.pin(form.get("pin", ""))
    except normalize.NormalizeError as e:
        return None, {"pin": str(e)}
    if unicodedata.normalize("NFKC", form.get("pin2", "")).strip() != pin:
        return None, {"pin2": "確認用の暗証番号が一致しません。"}
    return pin, {}


@dataclass(frozen=True)
class Registered:
    customer: Customer
    personal_url: str  # the bookmark, also in the confirmation mail


def register(
    session: Session, env: LedgerEnv, token: Token, details: Details, pin: str, now: datetime
) -> Registered:
    """Complete a registration from its link: details, PIN, the token used, a confirmation mail with the
    personal (bookmark) link — all in the caller's transaction."""
    customer = session.get(Customer, token.customer_id)
    assert customer is not None
    actor = f"link:register:{token.id}"
    customer.name, customer.name_kana, customer.phone = details.name, details.name_kana, details.phone
    customer.pin_hash = hash_pin(pin, pin_keys(env.signer.secrets))
    customer.status = CustomerStatus.ACTIVE
    customer.registered_at = now
    customer.pin_failures = 0
    session.add(customer)
    bounces.clear(session, customer, "registered again", Actor(actor, token_id=token.id))
    tokens.use(session, token, now)
    login = personal_link(session, customer, now)
    audit.record(
        session,
        "customer_registered",
        actor,
        customer_id=customer.id,
        token_id=token.id,
        phone=normalize.mask_phone(customer.phone),
    )
    tell_possible_duplicates(session, env, customer, Actor(actor, token_id=token.id), now)
    env.mailer.enqueue(
        session,
        to=customer.email,
        template="registered",
        now=now,
        actor=Actor(actor, token_id=token.id),
        customer_id=customer.id,
        capped=False,  # owed to whoever used the link: not limited like a reply to a stranger
        customer=customer,
        url=login,
    )
    return Registered(customer, env.signer.url(*login))


def _live(customer_id: int | None, purpose: str | None = None):  # type: ignore[no-untyped-def]
    stmt = select(Token).where(Token.customer_id == customer_id, col(Token.revoked_at).is_(None))
    return stmt if purpose is None else stmt.where(Token.purpose == purpose)


def revoke(
    session: Session, customer_id: int | None, purpose: str | None, now: datetime, keep: int | None = None
) -> None:
    """The customer's live links of `purpose` (None: all) are revoked, but for `keep`."""
    for old in session.exec(_live(customer_id, purpose)):
        if old.id != keep:
            old.revoked_at = now
            session.add(old)


def tell_possible_duplicates(
    session: Session, env: LedgerEnv, customer: Customer, actor: Actor, now: datetime
) -> None:
    """The same name and phone under another address: not refused (a new phone, a new carrier), but
    flagged on both timelines and mailed to the staff."""
    others = matching.duplicates_of(session, customer)
    if not others:
        return
    for other in others:
        audit.by(session, "possible_duplicate", actor, customer_id=customer.id, other_customer=other.id)
        audit.by(session, "possible_duplicate", actor, customer_id=other.id, other_customer=customer.id)
    for to in env.cfg.shop.staff_alerts:
        env.mailer.enqueue(
            session,
            to=to,
            template="staff_duplicate",
            now=now,
            actor=actor,
            capped=False,
            thread=False,
            customer=customer,
            others=others,
        )


def personal_link(session: Session, customer: Customer, now: datetime) -> Link:
    """The customer's bookmark: one live login token at a time (older ones are revoked)."""
    assert customer.id is not None
    revoke(session, customer.id, "login", now)
    token = tokens.issue(session, "login", customer.id, now, hours=None)
    return Link("login", token.id or 0)


def has_bookmark(session: Session, customer: Customer) -> bool:
    """A live personal link: none after one was revoked for too many wrong PINs."""
    return session.exec(_live(customer.id, "login")).first() is not None


def use_settings_link(session: Session, token: Token, now: datetime) -> None:
    """A settings link is used, and the customer's other settings links go with it: one open at a time."""
    tokens.use(session, token, now)
    revoke(session, token.customer_id, "settings", now, keep=token.id)


def update_details(
    session: Session,
    env: LedgerEnv,
    customer: Customer,
    details: Details,
    actor: str,
    token_id: int | None,
    now: datetime,
) -> None:
    changed = {k: v for k, v in vars(details).items() if getattr(customer, k) != v}
    for k, v in changed.items():
        setattr(customer, k, v)
    session.add(customer)
    audit.record(
        session, "customer_updated", actor, customer_id=customer.id, token_id=token_id, fields=sorted(changed)
    )
    if changed:
        tell_possible_duplicates(session, env, customer, Actor(actor, token_id=token_id), now)


def change_pin(
    session: Session,
    env: LedgerEnv,
    customer: Customer,
    pin: str,
    actor: str,
    token_id: int | None,
    now: datetime,
) -> Link:
    """A new PIN from the settings link (which only the address's owner receives): it lifts a lock,
    revokes the other settings links and rotates the bookmark (a copy someone else holds stops
    working); the customer gets the new bookmark by mail, so a change they did not make does not go
    unnoticed."""
    customer.pin_hash = hash_pin(pin, pin_keys(env.signer.secrets))
    customer.pin_failures = customer.lockouts = 0
    customer.locked_until = None
    session.add(customer)
    revoke(session, customer.id, "settings", now, keep=token_id)
    audit.record(session, "pin_changed", actor, customer_id=customer.id, token_id=token_id, at=now)
    return new_bookmark(session, env, customer, actor, token_id, now, template="pin_changed")


def new_bookmark(
    session: Session,
    env: LedgerEnv,
    customer: Customer,
    actor: str,
    token_id: int | None,
    now: datetime,
    template: str = "bookmark",
) -> Link:
    """A new personal link for a customer who asked for it (settings): the old one stops working."""
    link = personal_link(session, customer, now)
    audit.record(session, "bookmark_rotated", actor, customer_id=customer.id, token_id=token_id)
    env.mailer.enqueue(
        session,
        to=customer.email,
        template=template,
        now=now,
        actor=Actor(actor, token_id=token_id),
        customer_id=customer.id,
        capped=False,  # the customer asked for it through a link
        customer=customer,
        url=link,
    )
    return link
