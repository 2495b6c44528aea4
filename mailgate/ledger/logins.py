"""The PIN on the personal (bookmark) link. Whoever holds a copy of the link can guess: after
`pin_attempts` wrong PINs in a row the account locks, each lock in a row twice as long as the one
before (up to `lock_max_hours`), the customer is told by mail, and a link that has taken
`pin_failures_per_link` wrong PINs is revoked. A blank mail from the customer's own address then
brings a fresh bookmark with the settings link (signup.py); a new PIN there lifts the lock."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from mailgate import audit, tokens
from mailgate.audit import Actor
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.pins import check_pin, hash_pin, is_current, pin_keys
from mailgate.links import Link
from mailgate.models import Customer, Token


def is_locked(customer: Customer, now: datetime) -> bool:
    locked_until = tokens.aware(customer.locked_until)  # naive when read back from SQLite
    return locked_until is not None and locked_until > now


def lock_length(env: LedgerEnv, lockouts: int) -> timedelta:
    """The `lockouts`+1-th lock in a row: lock_minutes, doubled each time, at most lock_max_hours."""
    links = env.cfg.links
    minutes = links.lock_minutes * 2 ** min(lockouts, 16)
    return min(timedelta(minutes=minutes), timedelta(hours=links.lock_max_hours))


def try_pin(
    session: Session, env: LedgerEnv, customer: Customer, token: Token, pin: str, now: datetime
) -> bool:
    """Check a PIN typed on the personal link page (`token`, locked by the caller)."""
    actor = f"link:login:{token.id}"
    if is_locked(customer, now):
        return False
    keys = pin_keys(env.signer.secrets)
    if check_pin(pin, customer.pin_hash, keys):
        customer.pin_failures = customer.lockouts = token.pin_failures = 0
        if not is_current(customer.pin_hash, keys):  # made under a secret that is being rotated out
            customer.pin_hash = hash_pin(pin, keys)
        session.add_all([customer, token])
        audit.record(session, "pin_ok", actor, customer_id=customer.id, token_id=token.id)
        return True
    customer.pin_failures += 1
    token.pin_failures += 1
    session.add_all([customer, token])
    audit.record(
        session,
        "pin_wrong",
        actor,
        customer_id=customer.id,
        token_id=token.id,
        failures=customer.pin_failures,
    )
    revoked = token.pin_failures >= env.cfg.links.pin_failures_per_link
    if revoked:
        token.revoked_at = now
        audit.record(
            session, "link_revoked", actor, customer_id=customer.id, token_id=token.id, why="wrong PINs"
        )
    if customer.pin_failures >= env.cfg.links.pin_attempts or revoked:
        _lock(session, env, customer, token, now, revoked)
    return False


def _lock(
    session: Session, env: LedgerEnv, customer: Customer, token: Token, now: datetime, revoked: bool
) -> None:
    length = lock_length(env, customer.lockouts)
    customer.locked_until = now + length
    customer.pin_failures = 0
    customer.lockouts += 1
    session.add(customer)
    actor = Actor(f"link:login:{token.id}", token_id=token.id)
    audit.by(
        session,
        "account_locked",
        actor,
        customer_id=customer.id,
        until=customer.locked_until.isoformat(),
        minutes=int(length.total_seconds() // 60),
        lockouts=customer.lockouts,
    )
    env.mailer.enqueue(  # owed to the customer, and bounded by the locks themselves
        session,
        to=customer.email,
        template="pin_locked",
        now=now,
        actor=actor,
        customer_id=customer.id,
        capped=False,
        thread=False,
        customer=customer,
        until=customer.locked_until.astimezone(env.cfg.tz),
        revoked=revoked,
        signup=env.cfg.mail.signup,
    )


def open_settings(session: Session, env: LedgerEnv, customer: Customer, now: datetime) -> str:
    """A settings link for a customer who just typed the right PIN (shown on their page, not mailed)."""
    assert customer.id is not None
    token = tokens.issue(session, "settings", customer.id, now, hours=env.cfg.links.settings_hours)
    return env.signer.url(*Link("settings", token.id or 0))


def open_session(session: Session, env: LedgerEnv, customer: Customer, now: datetime) -> Link:
    """The booking pages' link for a customer who just typed the right PIN: it lasts
    [booking] session_minutes, and the pages carry it from step to step (no cookies)."""
    assert customer.id is not None
    token = tokens.issue(session, "session", customer.id, now, hours=env.cfg.booking.session_minutes / 60)
    return Link("session", token.id or 0)
