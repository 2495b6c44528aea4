"""Raw message files: written to tmp/, fsynced, renamed into place, directory fsynced.

Files are named by the SHA-256 of their bytes, so a redelivery of identical bytes lands on the same
file and a crash between the write and the database commit leaves at worst an orphan file, never a
row without its file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(spool_dir: Path, raw: bytes) -> str:
    """Store the bytes durably; return the path relative to the spool directory."""
    digest = hashlib.sha256(raw).hexdigest()
    rel = f"{digest[:2]}/{digest}.eml"
    final = spool_dir / rel
    if final.exists() and final.stat().st_size == len(raw):
        return rel
    tmp_dir = spool_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{digest}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(final.parent)
    return rel


def read(spool_dir: Path, rel: str) -> bytes:
    return (spool_dir / rel).read_bytes()


def discard(spool_dir: Path, rel: str) -> None:
    (spool_dir / rel).unlink(missing_ok=True)
