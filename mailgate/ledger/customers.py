"""Customers: registration, PIN login, settings (a blank mail's signup is in signup.py). Each function
runs inside the caller's transaction and writes its own audit events and outgoing mail there."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from mailgate import audit, normalize, tokens
from mailgate.audit import Actor
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.pins import check_pin, hash_pin, is_current, pin_keys
from mailgate.links import Link
from mailgate.models import Customer, CustomerStatus, Token


def by_email(session: Session, email: str) -> Customer | None:
    return session.exec(select(Customer).where(Customer.email_key == email.lower())).first()


@dataclass(frozen=True)
class Details:
    name: str
    name_kana: str
    phone: str


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


def personal_link(session: Session, customer: Customer, now: datetime) -> Link:
    """The customer's bookmark: one live login token at a time (older ones are revoked)."""
    assert customer.id is not None
    for old in session.exec(
        select(Token).where(
            Token.customer_id == customer.id, Token.purpose == "login", col(Token.revoked_at).is_(None)
        )
    ):
        old.revoked_at = now
        session.add(old)
    token = tokens.issue(session, "login", customer.id, now, hours=None)
    return Link("login", token.id or 0)


def open_settings(session: Session, env: LedgerEnv, customer: Customer, now: datetime) -> str:
    """A settings link for a customer who just typed the right PIN (shown on their page, not mailed)."""
    assert customer.id is not None
    token = tokens.issue(session, "settings", customer.id, now, hours=env.cfg.links.settings_hours)
    return env.signer.url("settings", token.id or 0)


def is_locked(customer: Customer, now: datetime) -> bool:
    locked_until = tokens.aware(customer.locked_until)  # naive when read back from SQLite
    return locked_until is not None and locked_until > now


def try_pin(
    session: Session, env: LedgerEnv, customer: Customer, token: Token, pin: str, now: datetime
) -> bool:
    """Check a PIN typed on the personal link page; lock the account after too many wrong ones."""
    actor = f"link:login:{token.id}"
    if is_locked(customer, now):
        return False
    keys = pin_keys(env.signer.secrets)
    if check_pin(pin, customer.pin_hash, keys):
        customer.pin_failures = 0
        if not is_current(customer.pin_hash, keys):  # made under a secret that is being rotated out
            customer.pin_hash = hash_pin(pin, keys)
        session.add(customer)
        audit.record(session, "pin_ok", actor, customer_id=customer.id, token_id=token.id)
        return True
    customer.pin_failures += 1
    audit.record(
        session,
        "pin_wrong",
        actor,
        customer_id=customer.id,
        token_id=token.id,
        failures=customer.pin_failures,
    )
    if customer.pin_failures >= env.cfg.links.pin_attempts:
        customer.locked_until = now + timedelta(minutes=env.cfg.links.lock_minutes)
        customer.pin_failures = 0
        audit.record(
            session,
            "account_locked",
            actor,
            customer_id=customer.id,
            token_id=token.id,
            until=customer.locked_until.isoformat(),
            minutes=env.cfg.links.lock_minutes,
        )
    session.add(customer)
    return False


def update_details(
    session: Session, customer: Customer, details: Details, actor: str, token_id: int | None
) -> None:
    changed = {k: v for k, v in vars(details).items() if getattr(customer, k) != v}
    for k, v in changed.items():
        setattr(customer, k, v)
    session.add(customer)
    if "phone" in changed:
        changed["phone"] = normalize.mask_phone(changed["phone"])
    audit.record(
        session, "customer_updated", actor, customer_id=customer.id, token_id=token_id, fields=sorted(changed)
    )


def change_pin(
    session: Session,
    env: LedgerEnv,
    customer: Customer,
    pin: str,
    actor: str,
    token_id: int | None,
    now: datetime,
) -> None:
    """A new PIN from the settings link (which only the address's owner receives): it also lifts a
    lock, and the customer is told by mail, so a change they did not make does not go unnoticed."""
    customer.pin_hash = hash_pin(pin, pin_keys(env.signer.secrets))
    customer.pin_failures = 0
    customer.locked_until = None
    session.add(customer)
    audit.record(session, "pin_changed", actor, customer_id=customer.id, token_id=token_id, at=now)
    env.mailer.enqueue(
        session,
        to=customer.email,
        template="pin_changed",
        now=now,
        actor=Actor(actor, token_id=token_id),
        customer_id=customer.id,
        capped=False,
        customer=customer,
    )


def delete(session: Session, customer: Customer, now: datetime, actor: str, token_id: int | None) -> None:
    """Unsubscribe: personal data is erased; the row stays so the audit trail keeps its subject."""
    customer.status = CustomerStatus.DELETED
    customer.name = customer.name_kana = customer.phone = customer.pin_hash = ""
    session.add(customer)
    for t in session.exec(select(Token).where(Token.customer_id == customer.id, Token.revoked_at == None)):  # noqa: E711
        t.revoked_at = now
        session.add(t)
    audit.record(session, "customer_deleted", actor, customer_id=customer.id, token_id=token_id)
