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
    """Body parts between delimiter lines; the line break before a delimiter belongs to it (RFC 2046).
    The boundary is looked for with bytes.find and each hit checked by `_delimiter`: a pattern tried
    at every byte made each level of a deeply nested multi-megabyte mail cost a tenth of a second."""
    marker = b"--" + boundary
    parts: list[bytes] = []
    start: int | None = None
    floor = 0  # the end of the last delimiter: its line break cannot begin the next one
    at = body.find(marker)
    while at >= 0:
        found = _delimiter(body, marker, at, floor)
        if found is None:
            at = body.find(marker, at + 1)
            continue
        begin, end, close = found
        if start is not None:
            parts.append(body[start:begin])
        if close:  # the rest is epilogue
            return parts
        start = floor = end
        at = body.find(marker, end)
    if start is not None:  # no close delimiter: the last part runs to the end, as the email package reads it
        parts.append(body[start:])
    return parts


def _delimiter(body: bytes, marker: bytes, at: int, floor: int) -> tuple[int, int, bool] | None:
    """(begin, end, close) of the delimiter line whose `--boundary` is at `at`, None if it is not one:
    at the very start or after a line break (CRLF or LF) that the last delimiter, ending at `floor`,
    did not take; then `--` for the close delimiter, spaces and tabs, and a line break or the end."""
    if at == 0:
        begin = 0
    elif at - 1 >= floor and body[at - 1] == 0x0A:
        begin = at - 2 if at - 2 >= floor and body[at - 2] == 0x0D else at - 1
    else:
        return None
    end = at + len(marker)
    close = body.startswith(b"--", end)
    if close:
        end += 2
    while end < len(body) and body[end] in (0x20, 0x09):
        end += 1
    if end == len(body):
        return begin, end, close
    if body.startswith(b"\r\n", end):
        return begin, end + 2, close
    if body.startswith(b"\n", end):
        return begin, end + 1, close
    return None  # "--B--x" or "--Bx": a line that merely starts like a delimiter


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
