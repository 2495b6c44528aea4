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
from pathlib import Path

_SUBDIRS = ("tmp", "new", "cur")


def _unique_name() -> str:
    # time.M<usec>P<pid>R<random>.host: unique across processes and hosts sharing the Maildir.
    now = time.time()
    seconds = int(now)
    micros = int((now - seconds) * 1_000_000)
    # "/" and ":" would break the file name or the Maildir info suffix.
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"
    return f"{seconds}.M{micros}P{os.getpid()}R{secrets.token_hex(8)}.{host}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def deliver(maildir: Path, message: bytes, name: str | None = None) -> Path:
    """Write message to maildir/new/ atomically and durably; return the final path.

    name: a caller-chosen unique name, so a caller can tell whether it delivered before (a retry
    after a crash); by default a fresh unique name.
    """
    for sub in _SUBDIRS:
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    name = name or _unique_name()
    tmp_path = maildir / "tmp" / name
    final_path = maildir / "new" / name
    # O_EXCL: never overwrite, even if the random part ever collided.
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(message)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        # The name is only visible in new/ once the content is complete and on disk.
        os.rename(tmp_path, final_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    _fsync_dir(maildir / "new")
    return final_path
