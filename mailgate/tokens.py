"""Issue and redeem the server side of signed links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from mailgate.links import REUSABLE, LinkError, Signer
from mailgate.models import Token
from mailgate.write_now import add_now


def aware(when: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC: SQLite hands DateTime(timezone=True) columns back naive."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when


def issue(
    session: Session,
    purpose: str,
    customer_id: int,
    now: datetime,
    *,
    hours: float | None,
    message_id: int | None = None,
) -> Token:
    token = Token(
        purpose=purpose,
        customer_id=customer_id,
        created_at=now,
        expires_at=now + timedelta(hours=hours) if hours else None,
        message_id=message_id,
    )
    add_now(session, token)
    return token


def lookup(
    session: Session, signer: Signer, purpose: str, signed: str, now: datetime, *, lock: bool = False
) -> Token:
    """The live Token behind a link, or LinkError saying why not. lock: FOR UPDATE (PostgreSQL)."""
    token_id = signer.verify(purpose, signed, max_age_seconds=None)
    stmt = select(Token).where(Token.id == token_id, Token.purpose == purpose)
    if lock:
        stmt = stmt.with_for_update()
    token = session.exec(stmt).first()
    if token is None:
        raise LinkError("tampered")
    if token.revoked_at is not None:
        raise LinkError("revoked")
    if token.used_at is not None and purpose not in REUSABLE:
        raise LinkError("used")
    expires_at = aware(token.expires_at)
    if expires_at is not None and expires_at <= now:
        raise LinkError("expired")
    return token


def use(session: Session, token: Token, now: datetime) -> None:
    """Mark a one-time token used, in the caller's transaction (the same as the action it performs).

    A guarded UPDATE, so of two requests racing with the same link only one succeeds (the other gets
    LinkError('used') and its transaction rolls back) even on SQLite, which has no SELECT ... FOR UPDATE.
    """
    if token.purpose in REUSABLE:
        return
    result = session.execute(
        update(Token)
        .where(col(Token.id) == token.id, col(Token.used_at).is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LinkError("used")
    set_committed_value(token, "used_at", now)
