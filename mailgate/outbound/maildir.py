"""Deliver a message into a Maildir (tmp/ → new/), the way MDAs do.

The bytes are stored exactly as given: compose() produces CRLF, so the files hold CRLF.
Nothing is converted, so a DKIM signature verifies on the stored file exactly as it would
on the wire (dkimpy also accepts LF, but not converting means there is nothing to get wrong).
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from datetime import timedelta
from pathlib import Path

from mailgate.files import private_dir, remove_older_than, write_durably

_SUBDIRS = ("tmp", "new", "cur")
# The Maildir convention: a file in tmp/ this old is what a killed delivery left behind.
TMP_MAX_AGE = timedelta(hours=36)


def _unique_name() -> str:
    # time.M<usec>P<pid>R<random>.host: unique across processes and hosts sharing the Maildir.
    now = time.time()
    seconds = int(now)
    micros = int((now - seconds) * 1_000_000)
    # "/" and ":" would break the file name or the Maildir info suffix.
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"
    return f"{seconds}.M{micros}P{os.getpid()}R{secrets.token_hex(8)}.{host}"


def deliver(maildir: Path, message: bytes, name: str | None = None) -> Path:
    """Write message to maildir/new/ atomically and durably; return the final path.

    name: a caller-chosen final name, so a caller can tell whether it delivered before (a retry
    after a crash, see `delivered`); by default a fresh unique name. Delivering the same name twice
    leaves one file.
    """
    for sub in _SUBDIRS:
        private_dir(maildir / sub)
    # The temporary file belongs to this attempt alone: one a killed attempt left in tmp/ never
    # stands in the way of the next.
    return write_durably(maildir / "new" / (name or _unique_name()), message, tmp_dir=maildir / "tmp")


def delivered(maildir: Path, name: str) -> Path | None:
    """The message delivered under `name`, in new/ or in cur/ (where a reader moves it, adding
    ":2,<flags>"); None if there is none."""
    new = maildir / "new" / name
    if new.exists():
        return new
    # Looked at after new/: a reader moving the file in between is found here.
    cur = maildir / "cur"
    if (cur / name).exists():
        return cur / name
    # Read from the directory, not with glob: fnmatch keeps every pattern it compiles (up to 32,768)
    # and each row's name is a new one, so serve grew by about 1 kB per mail sent.
    prefix = name + ":"
    try:
        with os.scandir(cur) as entries:
            for entry in entries:
                if entry.name.startswith(prefix):
                    return cur / entry.name
    except FileNotFoundError:  # no Maildir yet
        return None
    return None


def remove(maildir: Path, name: str) -> bool:
    """The copy delivered under `name` gone (it named someone who was erased); False if none."""
    found = delivered(maildir, name)
    if found is None:
        return False
    found.unlink(missing_ok=True)
    return True


def clean_tmp(maildir: Path, max_age: timedelta = TMP_MAX_AGE) -> list[Path]:
    """Remove files in tmp/ older than max_age (what killed deliveries left); returns them."""
    return remove_older_than(maildir / "tmp", max_age)
