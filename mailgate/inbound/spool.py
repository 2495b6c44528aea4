"""Where a stored message's raw bytes live, named by their SHA-256 (a redelivery of identical bytes
lands on the same name).

SQLite (one machine): files under var/spool/, written to tmp/, fsynced, renamed into place, the
directory fsynced, before the Message row commits; a crash in between leaves at worst an orphan
file, never a row without its bytes. Messages stored together (group commit) issue their fsyncs at
once, from several threads: the file system commits its journal once for many of them.
PostgreSQL (several nodes): a row in the same transaction as the Message rows, so one commit makes
both durable and every node reads them without a shared disk.
A Message's spool_path is the file's path relative to the spool, or "db:<sha256>".
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from mailgate import db
from mailgate.files import private_dir, remove_older_than, write_durably
from mailgate.models import RawMessage

IN_DB = "db:"
TMP_MAX_AGE = timedelta(hours=36)
SYNC_THREADS = 16  # fsyncs in flight at once: a batch's files share the file system's journal commits

T = TypeVar("T")
R = TypeVar("R")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def relative_path(raw: bytes) -> str:
    digest = hashlib.sha256(raw).hexdigest()
    return f"{digest[:2]}/{digest}.eml"


def write(spool_dir: Path, raw: bytes) -> str:
    """Store the bytes durably as a file; return the path relative to the spool directory."""
    return write_many(spool_dir, [raw])[0]


def write_many(spool_dir: Path, raws: Sequence[bytes]) -> list[str]:
    """Store each message's bytes durably as a file, all at once; the path of each, in order."""
    rels = [relative_path(raw) for raw in raws]
    todo: dict[Path, bytes] = {}
    for rel, raw in zip(rels, raws, strict=True):
        final = spool_dir / rel
        if not (final.exists() and final.stat().st_size == len(raw)):
            todo[final] = raw
    if not todo:
        return rels
    tmp_dir = private_dir(spool_dir / "tmp")
    for final in todo:
        private_dir(final.parent)
    # Each file with its directory in one call, all calls at once: no wait between the files' fsyncs
    # and the directories'.
    _together(lambda item: write_durably(*item, tmp_dir=tmp_dir), list(todo.items()))
    return rels


def _together(work: Callable[[T], R], items: list[T]) -> list[R]:
    """work(item) for each item, in threads when there are several (fsync waits on the disk, not the
    CPU); raises the first failure once every call has ended."""
    if len(items) == 1:
        return [work(items[0])]
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="mailgate-fsync")
    futures = [_pool.submit(work, item) for item in items]
    wait(futures)
    for f in futures:
        if (error := f.exception()) is not None:
            raise error
    return [f.result() for f in futures]


def keep_many_in_db(conn: Connection, raws: Sequence[bytes]) -> list[str]:
    """Store each message's bytes in the caller's transaction (PostgreSQL); the spool_path of each."""
    digests = [hashlib.sha256(raw).hexdigest() for raw in raws]
    values = {d: raw for d, raw in zip(digests, raws, strict=True)}
    if values:
        rows = [{"sha256": d, "data": v, "size": len(v)} for d, v in values.items()]
        conn.execute(insert(RawMessage).on_conflict_do_nothing(), rows)
    return [f"{IN_DB}{d}" for d in digests]


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
