"""What ties a customer's reply to the booking mail it answers: the mail's own address, book+KEY@ in
its Reply-To (feature phones often send no In-Reply-To), or its Message-ID in the reply's In-Reply-To
or References. Never the From alone, which anyone can write: and a tie holds only for the customer
the mail went to."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from mailgate.config import Config
from mailgate.models import Outbox, ReplyKey

# No 0/O or 1/I: a key may be read aloud or typed. 32**6 keys, drawn at random, each once.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 6
TAG = re.compile(r"[A-Za-z0-9]{1,16}")
MAX_IDS = 10  # Message-IDs of a reply looked up: its In-Reply-To and the newest References


def address(cfg: Config, key: str) -> str:
    local, _, domain = cfg.mail.book.rpartition("@")
    return f"{local}+{key}@{domain}"


def normal_tag(tag: str) -> str:
    """KEY as a reply's address wrote it (book+k7q2@: some phones lower-case); "" if it cannot be one."""
    return tag.upper() if TAG.fullmatch(tag) else ""


def new(
    session: Session,
    customer_id: int,
    now: datetime,
    expires: datetime,
    *,
    menu: str = "",
    offers: Sequence[dict[str, Any]] = (),
    ask: dict[str, Any] | None = None,
    booking_id: int | None = None,
) -> ReplyKey:
    key = _fresh_key(session)
    row = ReplyKey(
        key=key,
        customer_id=customer_id,
        menu=menu,
        offers=list(offers),
        ask=ask or {},
        booking_id=booking_id,
        created_at=now,
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    return row


def sent(row: ReplyKey, mail: Outbox | None) -> None:
    """The mail that carries the key: a reply's In-Reply-To names its Message-ID."""
    if mail is not None:
        row.header_message_id = mail.header_message_id


def tied(session: Session, tag: str, replying_to: Sequence[str], customer_id: int) -> ReplyKey | None:
    """The key of the mail a reply answers (by its address's tag, else by the Message-IDs it
    answers), locked; None when there is none or it was not mailed to this customer."""
    row = None
    tag = normal_tag(tag)
    if tag:
        row = session.exec(select(ReplyKey).where(ReplyKey.key == tag).with_for_update()).first()
    ids = [i for i in replying_to if i][:MAX_IDS]
    if row is None and ids:
        found = session.exec(
            select(ReplyKey).where(col(ReplyKey.header_message_id).in_(ids)).with_for_update()
        ).all()
        by_id = {r.header_message_id: r for r in found}
        row = next((by_id[i] for i in ids if i in by_id), None)
    return row if row is not None and row.customer_id == customer_id else None


def _fresh_key(session: Session) -> str:
    while True:
        key = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if session.exec(select(ReplyKey.id).where(ReplyKey.key == key)).first() is None:
            return key
