"""Limits on automatic replies to unknown or unverified senders (a blank mail's From can be anyone's):
per mailbox, per SMTP client and in all, each an hour. Only rows queued `capped` count: mail owed to
a customer who acted through a link is neither limited nor counted."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from mailgate.config import Config
from mailgate.mail.addresses import domain_of, is_address_literal, mailbox_key
from mailgate.models import Message, Outbox

HOUR = timedelta(hours=1)


def client_of(session: Session, message_id: int | None) -> str | None:
    """The SMTP client a message came from; None for IMAP, files, and what no message caused."""
    if message_id is None:
        return None
    return session.exec(select(Message.client).where(Message.id == message_id)).first()


def _capped_since(since: datetime):  # type: ignore[no-untyped-def]
    return select(func.count()).select_from(Outbox).where(col(Outbox.capped), col(Outbox.created_at) > since)


def suppressed(session: Session, cfg: Config, to: str, client: str | None, now: datetime) -> str | None:
    """Why an automatic reply to `to` (caused by mail from `client`) must not be sent; None: send it."""
    if is_address_literal(to):
        return f"an address literal ({domain_of(to)}) is not answered"
    limits, since = cfg.mail, now - HOUR
    key = mailbox_key(to)
    if session.exec(_capped_since(since).where(Outbox.to_key == key)).one() >= limits.replies_per_hour:
        return f"more than {limits.replies_per_hour} mails to this address ({key}) in an hour"
    if client is not None:
        stmt = _capped_since(since).join(Message, col(Message.id) == col(Outbox.cause_message_id))
        if session.exec(stmt.where(Message.client == client)).one() >= limits.replies_per_client_hour:
            return (
                f"more than {limits.replies_per_client_hour} automatic replies to mail from client "
                f"{client} in an hour"
            )
    if session.exec(_capped_since(since)).one() >= limits.replies_total_hour:
        return f"more than {limits.replies_total_hour} automatic replies in an hour"
    return None
