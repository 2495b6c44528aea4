"""Find forwarded messages inside a MIME mail as the exact bytes that were on the wire.

A DKIM signature covers bytes, and `email`'s re-serialisation (`part.as_bytes()`) may refold headers
or change line endings, which breaks it. So the MIME tree is walked here over the raw bytes: each part
is a slice of the original between its boundary lines, and only the part headers go through `email`.
"""

from __future__ import annotations

import binascii
import contextlib
import email.message
import email.parser
import email.policy
import quopri
import re
from dataclasses import dataclass

MAX_DEPTH = 20
MAX_MESSAGES = 20

_EOL = re.compile(rb"\r?\n")
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})


@dataclass(frozen=True)
class Embedded:
    """One forwarded message found in a mail."""

    data: bytes  # the message's bytes, transfer encoding undone when the forwarder applied one
    how: str  # "rfc822" | "rfc822-encoded" (base64/QP, not allowed but seen) | "eml-file"


def split_head(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body): split at the first empty line (CRLF or LF); no empty line = all header."""
    pos = 0
    while pos < len(raw):
        m = _EOL.search(raw, pos)
        if m is None:
            return raw, b""
        if m.start() == pos:
            return raw[:pos], raw[m.end() :]
        pos = m.end()
    return raw, b""


def _headers(head: bytes) -> email.message.Message:
    return email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head + b"\n\n")


def _parts(body: bytes, boundary: bytes) -> list[bytes]:
    """Body parts between delimiter lines; the line break before a delimiter belongs to it (RFC 2046)."""
    delimiter = re.compile(rb"(?:\A|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?:\r?\n|\Z)")
    parts: list[bytes] = []
    start: int | None = None
    for m in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start : m.start()])
        if m.group(1):  # close delimiter: the rest is epilogue
            return parts
        start = m.end()
    if start is not None:  # no close delimiter: the last part runs to the end, as the email package reads it
        parts.append(body[start:])
    return parts


def _looks_like_message(data: bytes) -> bool:
    first = _EOL.split(data.lstrip(b"\r\n"), maxsplit=1)[0]
    return bool(_HEADER_LINE.match(first))


def _decode(body: bytes, cte: str) -> bytes | None:
    try:
        if cte == "base64":
            return binascii.a2b_base64(body)
        if cte == "quoted-printable":
            return quopri.decodestring(body)
    except (binascii.Error, ValueError):
        return None
    return None


def _filename(headers: email.message.Message) -> str:
    try:
        name = headers.get_filename() or ""
    except Exception:
        return ""
    return name.lower() if isinstance(name, str) else ""


def embedded_messages(raw: bytes) -> list[Embedded]:
    """Forwarded messages in `raw`, in document order, without looking inside them (like parse())."""
    found: list[Embedded] = []

    def visit(part: bytes, depth: int, top: bool) -> None:
        if depth > MAX_DEPTH or len(found) >= MAX_MESSAGES:
            return
        head, body = split_head(part)
        headers = _headers(head)
        ctype = headers.get_content_type()
        cte = str(headers.get("Content-Transfer-Encoding", "")).strip().lower()
        if headers.get_content_maintype() == "multipart":
            boundary = headers.get_boundary()
            if boundary:
                for sub in _parts(body, boundary.encode("utf-8", "surrogateescape")):
                    visit(sub, depth + 1, top=False)
            return
        if top:
            return
        if ctype in _MESSAGE_TYPES:
            if cte in ("base64", "quoted-printable") and not _looks_like_message(body):
                decoded = _decode(body, cte)
                if decoded:
                    found.append(Embedded(decoded, "rfc822-encoded"))
            elif body.strip():
                found.append(Embedded(body, "rfc822"))
        elif ctype == "application/octet-stream" and _filename(headers).endswith(".eml"):
            # Some clients attach a saved .eml instead of message/rfc822.
            data = _decode(body, cte) if cte in ("base64", "quoted-printable") else body
            if data and _looks_like_message(data):
                found.append(Embedded(data, "eml-file"))

    with contextlib.suppress(Exception):  # hostile MIME: keep what was found so far
        visit(raw, 0, top=True)
    return found
