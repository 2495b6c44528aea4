"""Header text: unfolded, raw 8-bit bytes recovered, RFC 2047 encoded words (B and Q) decoded.

Nothing in this module raises: a header that can't be read becomes what can be made of it.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.header import Header

from mailgate.mail.charsets import decode_bytes, norm_charset

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_SURROGATE = re.compile(r"[\udc80-\udcff]")
_QP_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\r\n\x00]")


def _b_decode(text: str) -> bytes:
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # a lone trailing sextet carries no whole byte
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def _q_decode(text: str) -> bytes:
    raw = text.replace("_", " ").encode("latin-1", "replace")
    return _QP_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def _recover(text: str) -> str:
    """Raw 8-bit header bytes come back from the email package as surrogate escapes."""
    if not _SURROGATE.search(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeError:
        return _SURROGATE.sub("\ufffd", text)
    return decode_bytes(data, None)


def raw_header_text(value: str | Header | None) -> str:
    """A header as text: unfolded and with raw 8-bit bytes decoded, but RFC 2047 words left alone.

    Address parsing needs this: decoded display names may contain commas, quotes and brackets.
    """
    try:
        if value is None:
            return ""
        if isinstance(value, Header):
            pieces: list[str] = []
            for chunk, charset in value._chunks:  # the public API re-encodes and loses raw bytes
                name = str(charset)
                if name == "unknown-8bit":
                    pieces.append(_recover(chunk))
                else:
                    pieces.append(chunk)
            text = "".join(pieces)
        else:
            text = _recover(str(value))
        return _FOLD.sub("", text).replace("\r", "").replace("\n", "")
    except Exception:
        return ""


def _decode_words(text: str) -> str:
    out: list[str] = []
    pending: bytearray = bytearray()
    pending_charset: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            out.append(decode_bytes(bytes(pending), pending_charset))
            pending.clear()
            pending_charset = None

    for match in _ENCODED_WORD.finditer(text):
        between = text[pos : match.start()]
        # RFC 2047 6.2: whitespace between adjacent encoded words is not displayed.
        if between and not (pending_charset is not None and between.strip(" \t") == ""):
            flush()
            out.append(between)
        charset = norm_charset(match.group(1))
        data = _b_decode(match.group(3)) if match.group(2) in "bB" else _q_decode(match.group(3))
        # Same-charset neighbours are joined as bytes: broken encoders split characters across words.
        if pending_charset is not None and charset != pending_charset:
            flush()
        pending_charset = charset
        pending += data
        pos = match.end()
    flush()
    out.append(text[pos:])
    return "".join(out)


def decode_header_value(value: str | Header | None) -> str:
    """Decode a header to text: RFC 2047 encoded words (B and Q) and raw 8-bit bytes alike.

    Line breaks and NULs smuggled inside encoded words become spaces: a decoded value must be safe
    to copy into another header.
    """
    try:
        return _CONTROL.sub(" ", _decode_words(raw_header_text(value)))
    except Exception:
        try:
            return str(value or "")
        except Exception:
            return ""
