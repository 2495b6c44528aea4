"""Where a stored message's raw bytes live: a row of `rawmessage`, named by their SHA-256 (a
redelivery of identical bytes is the same row), written in the transaction that adds the Message rows.
One commit makes bytes and rows durable together, on SQLite as on PostgreSQL: a batch of messages
costs one fsync (SQLite's WAL) where a file per message cost three (file, directory, then the
database), there is never a row without its bytes or an orphan file, a backup is the database alone,
and every node of a cluster reads them without a shared disk.

Older installations kept the bytes as files under var/spool/ (spool_path "ab/<sha256>.eml"): those
are still read, purged and erased; new mail goes to the database ("db:<sha256>").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from mailgate import db, write_now
from mailgate.files import remove_older_than
from mailgate.models import RawMessage

IN_DB = "db:"
TMP_MAX_AGE = timedelta(hours=36)


def digest(raw: bytes) -> str:
    """What names a message's bytes in the database."""
    return hashlib.sha256(raw).hexdigest()


def in_db_path(sha256: str) -> str:
    """The spool_path of bytes kept in the database."""
    return f"{IN_DB}{sha256}"


def keep_many_in_db(
    conn: Connection, raws: Sequence[bytes], digests: Sequence[str] | None = None
) -> list[str]:
    """Store each message's bytes in the caller's transaction; the spool_path of each. `digests`:
    their digest(), when the caller has them already."""
    digests = [digest(raw) for raw in raws] if digests is None else digests
    values = {d: raw for d, raw in zip(digests, raws, strict=True)}
    if values:
        rows = [{"sha256": d, "data": v, "size": len(v)} for d, v in values.items()]
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(insert(RawMessage).on_conflict_do_nothing(), rows)
    return [in_db_path(d) for d in digests]


def read_together(session: Session, spool_paths: Sequence[str]) -> dict[str, bytes]:
    """The bytes of those of these messages that are in the database, in one query, by spool_path
    (older ones' files, and any row not found, are left to `read`)."""
    shas = {p.removeprefix(IN_DB): p for p in spool_paths if p.startswith(IN_DB)}
    if not shas:
        return {}
    return {shas[sha]: data for sha, data in write_now.columns(session, _BYTES, {"shas": list(shas)})}


_BYTES = select(RawMessage.sha256, RawMessage.data).where(
    col(RawMessage.sha256).in_(bindparam("shas", expanding=True))
)  # built once: building it cost as much as running it


def read(engine: Engine, spool_dir: Path, spool_path: str) -> bytes:
    if spool_path.startswith(IN_DB):
        with Session(db.reading(engine)) as session:
            row = session.get(RawMessage, spool_path.removeprefix(IN_DB))
        if row is None:
            raise FileNotFoundError(f"raw message {spool_path} is not in the database")
        return row.data
    return (spool_dir / spool_path).read_bytes()


def remove(spool_dir: Path, spool_path: str) -> bool:
    """A message's file gone (its row erased or purged); False when there was none."""
    if spool_path.startswith(IN_DB) or not spool_path.endswith(".eml") or ".." in spool_path:
        return False
    try:
        (spool_dir / spool_path).unlink()
    except FileNotFoundError:
        return False
    return True


def clean_tmp(spool_dir: Path) -> list[Path]:
    """What killed writers left in spool/tmp/."""
    return remove_older_than(spool_dir / "tmp", TMP_MAX_AGE)
