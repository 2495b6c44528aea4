"""Store a message before anything else: spool file plus one Message row per local recipient."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mailgate import db
from mailgate.inbound import spool
from mailgate.mail.addresses import first_address
from mailgate.mail.headers import decode_header_value
from mailgate.models import Message

# Message-IDs made up for mail that had none: nothing to thread a reply under.
DERIVED_ID_SUFFIX = "@derived.mailgate"


@dataclass(frozen=True)
class Stored:
    ids: list[int]
    duplicates: list[int]  # rows that already existed (a redelivery)


# Header fields that relays add or rewrite on the way: a redelivery may differ in them alone.
_TRACE = (
    b"received",
    b"return-path",
    b"delivered-to",
    b"x-original-to",
    b"authentication-results",
    b"received-spf",
    b"arc-",
    b"x-received",
    b"x-spam",
    b"x-virus",
)


def _split(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body) at the first empty line, CRLF or LF."""
    found = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep)) >= 0]
    if not found:
        return raw, b""
    i, n = min(found)
    return raw[:i], raw[i + n :]


def _without_trace(head: bytes) -> bytes:
    fields: list[bytes] = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    return b"\n".join(f for f in fields if not f.split(b":", 1)[0].strip().lower().startswith(_TRACE))


def dedupe_key(raw: bytes) -> tuple[str, str]:
    """(key, Message-ID): the same on redelivery, when relays add Received lines in front.

    Without a Message-ID the whole message minus trace fields counts, so two people's identical
    blank mails (different From, Date) never collide."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    msgid = str(headers.get("Message-ID", "") or "").strip().strip("<>").strip()
    head, body = _split(raw)
    body_hash = hashlib.sha256(body.replace(b"\r\n", b"\n")).hexdigest()
    if not msgid:
        whole = hashlib.sha256(_without_trace(head) + b"\n\n" + body.replace(b"\r\n", b"\n")).hexdigest()
        msgid = f"{whole[:32]}{DERIVED_ID_SUFFIX}"
    return hashlib.sha256(f"{msgid}\0{body_hash}".encode("utf-8", "surrogateescape")).hexdigest(), msgid


def _text(value: str) -> str:
    """A header's value as a text column takes it on every database: PostgreSQL refuses NUL, which
    SQLite would keep, so both keep U+FFFD instead (the raw bytes keep the NUL)."""
    return value.replace("\x00", "\ufffd")


def store(
    engine: Engine,
    spool_dir: Path,
    raw: bytes,
    rcpts: Sequence[str],
    *,
    mail_from: str | None,
    via: str,
    client: str | None = None,
) -> Stored:
    """Durably store raw for each recipient. Raises OSError or a database error on our own failure.
    client: the SMTP client's address (None for IMAP and files)."""
    key, msgid = dedupe_key(raw)
    mailboxes: dict[str, str] = {}
    for r in rcpts:
        mailboxes.setdefault(r.lower(), r)  # one row per mailbox, spelled as first given
    rcpts = list(mailboxes.values()) or [""]
    with Session(db.reading(engine)) as session:
        existing = {
            m.rcpt: m.id
            for m in session.exec(select(Message).where(Message.dedupe_key == key, Message.rcpt.in_(rcpts)))
        }
    missing = [r for r in rcpts if r not in existing]
    if not missing:
        return Stored(ids=[], duplicates=[i for i in existing.values() if i is not None])
    # A file is written before the transaction (not to hold SQLite's write lock over an fsync);
    # bytes kept in PostgreSQL go in with the rows.
    rel = None if db.is_postgres(engine) else spool.write(spool_dir, raw)
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    from_addr = _text(first_address(str(headers.get("From") or "")))
    subject = decode_header_value(headers.get("Subject"))
    rows = [
        Message(
            dedupe_key=key,
            rcpt=r,
            mail_from=mail_from,
            via=via,
            client=client[:64] if client else None,
            spool_path=rel or "",
            size=len(raw),
            header_message_id=_text(msgid)[:998],
            from_addr=from_addr[:320],
            subject=subject,
        )
        for r in missing
    ]
    try:
        with Session(engine) as session:
            if rel is None:
                path = spool.keep_in_db(session, raw)
                for row in rows:
                    row.spool_path = path
            session.add_all(rows)
            session.commit()
            ids = [m.id for m in rows if m.id is not None]
    except IntegrityError:
        # A concurrent delivery of the same message won the race: its rows stand.
        return store(engine, spool_dir, raw, rcpts, mail_from=mail_from, via=via, client=client)
    return Stored(ids=ids, duplicates=[i for i in existing.values() if i is not None])
