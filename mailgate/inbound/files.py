"""Read mail from files for `mailgate ingest`: one .eml, a directory (Maildir or *.eml), or an mbox."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from mailgate.mail.addresses import extract_addresses


def iter_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) for every message at path."""
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            for sub in ("new", "cur"):
                for f in sorted((path / sub).glob("*")):
                    if f.is_file():
                        yield str(f), f.read_bytes()
            return
        for f in sorted(path.rglob("*.eml")):
            yield str(f), f.read_bytes()
        return
    head = path.read_bytes()[:5]
    if head == b"From ":
        box = mailbox.mbox(path, create=False)
        for i, key in enumerate(box.keys()):
            yield f"{path}#{i + 1}", box.get_bytes(key)
        return
    yield str(path), path.read_bytes()


def local_recipients(raw: bytes, is_local: object) -> list[str]:
    """Envelope recipients recovered from headers an MTA adds, else To/Cc: only our own addresses."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    check = is_local if callable(is_local) else (lambda _a: False)
    for names in (("Delivered-To", "X-Original-To", "Envelope-To"), ("To", "Cc")):
        found = [
            addr
            for name in names
            for value in headers.get_all(name, [])
            for _display, addr in extract_addresses(str(value))
            if addr and check(addr)
        ]
        if found:
            return list(dict.fromkeys(found))
    return []
