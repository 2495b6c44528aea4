"""Where a stored message's raw bytes live, named by their SHA-256 (a redelivery of identical bytes
lands on the same name).

SQLite (one machine): files under var/spool/, written to tmp/, fsynced, renamed into place, the
directory fsynced, before the Message row commits; a crash in between leaves at worst an orphan
file, never a row without its bytes. PostgreSQL (several nodes): a row in the same transaction as
the Message rows, so one commit makes both durable and every node reads them without a shared disk.
A Message's spool_path is the file's path relative to the spool, or "db:<sha256>".
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from mailgate import db
from mailgate.files import private_dir, remove_older_than, write_durably
from mailgate.models import RawMessage

IN_DB = "db:"
TMP_MAX_AGE = timedelta(hours=36)


def write(spool_dir: Path, raw: bytes) -> str:
    """Store the bytes durably as a file; return the path relative to the spool directory."""
    digest = hashlib.sha256(raw).hexdigest()
    rel = f"{digest[:2]}/{digest}.eml"
    final = spool_dir / rel
    if final.exists() and final.stat().st_size == len(raw):
        return rel
    private_dir(spool_dir / "tmp")
    private_dir(final.parent)
    write_durably(final, raw, tmp_dir=spool_dir / "tmp")
    return rel


def keep_in_db(session: Session, raw: bytes) -> str:
    """Store the bytes in the caller's transaction (PostgreSQL); return the spool_path for them."""
    digest = hashlib.sha256(raw).hexdigest()
    stmt = insert(RawMessage).values(sha256=digest, data=raw, size=len(raw)).on_conflict_do_nothing()
    session.exec(stmt)  # type: ignore[call-overload]
    return f"{IN_DB}{digest}"


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
