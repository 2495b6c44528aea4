"""Store a message before anything else: spool file plus one Message row per local recipient."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any

from sqlalchemy import insert
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
    return _dedupe_key(raw, _headers(raw))


def _headers(raw: bytes) -> EmailMessage:
    """The header fields alone: the parser is not fed the body, which it would read line by line."""
    return BytesHeaderParser(policy=compat32).parsebytes(_split(raw)[0])


def _dedupe_key(raw: bytes, headers: EmailMessage) -> tuple[str, str]:
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


@dataclass(frozen=True)
class Arrival:
    """A message to store: its bytes, its local recipients and where it came from (client: the SMTP
    client's address, None for IMAP and files)."""

    raw: bytes
    rcpts: Sequence[str]
    mail_from: str | None
    via: str
    client: str | None = None


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
    """Durably store raw for each recipient. Raises OSError or a database error on our own failure."""
    return store_many(engine, spool_dir, [Arrival(raw, rcpts, mail_from, via, client)])[0]


def store_many(
    engine: Engine, spool_dir: Path, arrivals: Sequence[Arrival], *, raw_in_db: bool | None = None
) -> list[Stored]:
    """Durably store several messages at once: their files fsynced together, their rows in one
    transaction. All or nothing: on our own failure it raises and no row of any of them is stored.
    raw_in_db: None keeps the bytes in PostgreSQL and in files beside SQLite (README "Several
    nodes"); scripts/bench_nodes.py sets it to measure the other way."""
    rows = [_Rows.of(a) for a in arrivals]
    in_db = db.is_postgres(engine) if raw_in_db is None else raw_in_db
    for attempt in range(3):
        try:
            return _store_once(engine, spool_dir, arrivals, rows, in_db)
        except IntegrityError:
            # A concurrent delivery of the same message (another node, IMAP) won the race: read again,
            # its rows stand.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class _Rows:
    """What a message's rows hold apart from where its bytes are, parsed once."""

    key: str
    rcpts: list[str]
    fields: dict[str, Any]

    @classmethod
    def of(cls, a: Arrival) -> _Rows:
        headers = _headers(a.raw)
        key, msgid = _dedupe_key(a.raw, headers)
        mailboxes: dict[str, str] = {}
        for r in a.rcpts:
            mailboxes.setdefault(r.lower(), r)  # one row per mailbox, spelled as first given
        fields = {
            "dedupe_key": key,
            "mail_from": a.mail_from,
            "via": a.via,
            "client": a.client[:64] if a.client else None,
            "size": len(a.raw),
            "header_message_id": _text(msgid)[:998],
            "from_addr": _text(first_address(str(headers.get("From") or "")))[:320],
            "subject": decode_header_value(headers.get("Subject")),
        }
        return cls(key, list(mailboxes.values()) or [""], fields)


def _store_once(
    engine: Engine, spool_dir: Path, arrivals: Sequence[Arrival], rows: list[_Rows], in_db: bool
) -> list[Stored]:
    with Session(db.reading(engine)) as session:
        query = select(Message.dedupe_key, Message.rcpt, Message.id).where(
            Message.dedupe_key.in_({r.key for r in rows})
        )
        ids: dict[tuple[str, str], int] = {(k, r): i for k, r, i in session.exec(query)}
    existing = set(ids)
    new: dict[tuple[str, str], int] = {}  # (key, rcpt) -> the arrival that makes the row
    for n, r in enumerate(rows):
        new.update({(r.key, x): n for x in r.rcpts if (r.key, x) not in existing and (r.key, x) not in new})
    carrying = sorted(set(new.values()))
    if carrying:
        raws = [arrivals[n].raw for n in carrying]
        # Files are written before the transaction (not to hold SQLite's write lock over fsyncs);
        # bytes kept in PostgreSQL go in with the rows.
        files = None if in_db else spool.write_many(spool_dir, raws)
        with engine.begin() as conn:
            paths = dict(zip(carrying, files or spool.keep_many_in_db(conn, raws), strict=True))
            values = [
                {**rows[n].fields, "rcpt": rcpt, "spool_path": paths[n]} for (_, rcpt), n in new.items()
            ]
            # Core, not ORM objects: a batch's rows in one statement, their ids returned by it.
            stmt = insert(Message).returning(Message.dedupe_key, Message.rcpt, Message.id)
            ids.update({(k, r): i for k, r, i in conn.execute(stmt, values)})
    out = []
    for n, r in enumerate(rows):
        made = [ids[(r.key, x)] for x in r.rcpts if new.get((r.key, x)) == n]
        others = {ids[(r.key, x)] for x in r.rcpts} - set(made)
        out.append(Stored(ids=made, duplicates=sorted(others)))
    return out
