"""Writing a file so that it is whole or absent after a crash: a temporary file, fsync, rename over
the final name, fsync the directory (Mailman's switchboard and Maildir deliveries do the same)."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_dir(path: Path) -> Path:
    """`path` as a directory; the ones this makes (it and missing parents) are its owner's alone,
    whatever the umask: they hold customers' mail and data."""
    missing, at = [], path
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
            os.chmod(directory, 0o700)  # mkdir's mode is narrowed by the umask, never widened
        except FileExistsError:  # another process made it first
            pass
    return path


def write_private(path: Path, data: bytes) -> None:
    """Create or replace a small file only its owner can read (a config with secrets, a key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # an existing file keeps its mode through O_TRUNC
        f.write(data)


def write_durably(final: Path, data: bytes, *, tmp_dir: Path | None = None, mode: int = 0o600) -> Path:
    """`final` holds exactly `data`, on disk, when this returns. The temporary file is unique to
    this call (in `tmp_dir`, else beside `final`), so one a killed writer left never gets in the way."""
    where = tmp_dir or final.parent
    fd, tmp = tempfile.mkstemp(dir=where, prefix=f".{final.name[:80]}.", suffix=".tmp")
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)  # visible under its name only once complete and on disk
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(final.parent)
    return final


def remove_older_than(directory: Path, max_age: timedelta) -> list[Path]:
    """Remove the files in `directory` older than max_age (what killed writers left); returns them."""
    if not directory.is_dir():
        return []
    cutoff = time.time() - max_age.total_seconds()
    removed = []
    for entry in directory.iterdir():
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
                removed.append(entry)
        except FileNotFoundError:  # another process cleaned it first
            continue
    return removed
