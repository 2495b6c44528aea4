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

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Insert
from sqlmodel import col, select

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


def store_many(engine: Engine, spool_dir: Path, arrivals: Sequence[Arrival]) -> list[Stored]:
    """Durably store several messages at once: their bytes and rows in one transaction. All or
    nothing: on our own failure it raises and no row of any of them is stored."""
    return store_parsed(engine, [Parsed.of(a) for a in arrivals])


@dataclass(frozen=True)
class Parsed:
    """A message's bytes and what its rows hold apart from their recipient: its headers read and its
    hashes taken once (the intake writer does it as each message arrives, not in the batch)."""

    raw: bytes
    key: str
    sha256: str  # of the bytes: their rawmessage row
    rcpts: list[str]
    fields: dict[str, Any]

    @classmethod
    def of(cls, a: Arrival) -> Parsed:
        headers = _headers(a.raw)
        key, msgid = _dedupe_key(a.raw, headers)
        mailboxes: dict[str, str] = {}
        for r in a.rcpts:
            mailboxes.setdefault(r.lower(), r)  # one row per mailbox, spelled as first given
        sha = spool.digest(a.raw)
        fields = {
            "dedupe_key": key,
            "mail_from": a.mail_from,
            "via": a.via,
            "client": a.client[:64] if a.client else None,
            "size": len(a.raw),
            "header_message_id": _text(msgid)[:998],
            "from_addr": _text(first_address(str(headers.get("From") or "")))[:320],
            "subject": decode_header_value(headers.get("Subject")),
            "spool_path": spool.in_db_path(sha),
        }
        return cls(a.raw, key, sha, list(mailboxes.values()) or [""], fields)


def store_parsed(engine: Engine, parsed: Sequence[Parsed]) -> list[Stored]:
    """store_many for messages already read. A concurrent delivery of the same message (another
    node, IMAP) is no error: whichever commits first makes the rows, the other finds them."""
    if not parsed:
        return []
    wanted: dict[tuple[str, str], int] = {}  # (key, rcpt) -> the first message of the batch with it
    for n, p in enumerate(parsed):
        for rcpt in p.rcpts:
            wanted.setdefault((p.key, rcpt), n)
    with engine.begin() as conn:
        # The rows not there yet, in one statement that skips those already stored (a redelivery, or
        # one committed meanwhile: PostgreSQL waits for it): no read before the write.
        values = [{**parsed[n].fields, "rcpt": rcpt} for (_, rcpt), n in wanted.items()]
        ids = {(k, r): i for k, r, i in conn.execute(_insert_new(conn), values)}
        made = {kr: n for kr, n in wanted.items() if kr in ids}
        earlier = {k for k, r in wanted if (k, r) not in ids}
        if earlier:
            query = select(Message.dedupe_key, Message.rcpt, Message.id).where(
                col(Message.dedupe_key).in_(earlier)
            )
            ids.update({(k, r): i for k, r, i in conn.execute(query)})
        carrying = sorted(set(made.values()))
        if carrying:
            raws, digests = [parsed[n].raw for n in carrying], [parsed[n].sha256 for n in carrying]
            spool.keep_many_in_db(conn, raws, digests)
    out = []
    for n, p in enumerate(parsed):
        mine = [ids[(p.key, x)] for x in p.rcpts if made.get((p.key, x)) == n]
        others = {ids[(p.key, x)] for x in p.rcpts} - set(mine)
        out.append(Stored(ids=mine, duplicates=sorted(others)))
    return out


def _insert_new(conn: Connection) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING (key, rcpt, id) of the rows it added, built once
    per dialect (both have the clause)."""
    name = conn.dialect.name
    if name not in _INSERTS:
        insert = postgresql.insert if name == "postgresql" else sqlite.insert
        _INSERTS[name] = (
            insert(Message).on_conflict_do_nothing().returning(Message.dedupe_key, Message.rcpt, Message.id)
        )
    return _INSERTS[name]


_INSERTS: dict[str, Insert] = {}
