"""A named lock held by one process at a time across nodes, for long-lived roles such as polling a
mailbox. PostgreSQL: a session advisory lock on a connection kept for the purpose (it goes when the
process or its connection dies, so another node takes over). SQLite: one machine, so a file lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from mailgate.db import lock_number


class Held:
    """A lock this process holds until `release()`."""

    def __init__(self, name: str, conn: Connection | None = None, fd: int | None = None) -> None:
        self.name = name
        self._conn = conn
        self._fd = fd

    def alive(self) -> bool:
        """Still ours? (A PostgreSQL restart or a dropped connection loses the lock.)"""
        if self._conn is None:
            return self._fd is not None
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:
            return False

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_number(self.name)})
                conn.commit()
                conn.close()
            except Exception:
                conn.invalidate()  # never hand a connection that may hold the lock back to the pool
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def try_hold(engine: Engine, lock_dir: Path, name: str) -> Held | None:
    """The lock, or None when another process holds it now."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_number(name)}).scalar()
            conn.commit()  # the lock outlives the transaction; an idle transaction must not
        except Exception:
            conn.invalidate()
            raise
        if not got:
            conn.close()
            return None
        return Held(name, conn=conn)
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_dir / f"{hashlib.sha256(name.encode()).hexdigest()[:16]}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{name}\n".encode())
    return Held(name, fd=fd)
