"""Build outgoing replies as RFC 5322 bytes.

Headers are written by hand rather than through email.message: the stdlib never quotes a
local part such as ``taro..yamada.`` (common on Japanese carrier addresses, which break
RFC 5322) and its encoders do not guarantee that every ISO-2022-JP encoded-word returns
to ASCII, which RFC 1468 requires.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import format_datetime

from mailgate.mail.addresses import domain_of
from mailgate.mail.jis import jis_loses, jis_safe, needs_jis, substitute_kanji

CRLF = "\r\n"
MAX_LINE = 998  # RFC 5322 section 2.1.1, without the CRLF
# RFC 5321 section 4.5.3.1.3: a path is at most 256 octets, its angle brackets included.
MAX_ADDRESS = 254

# Raw bytes per encoded-word: 36 bytes → 48 base64 chars, so "Subject: " plus the longest
# word ("=?ISO-2022-JP?B?...?=") stays within the 78 columns RFC 5322 recommends.
_WORD_BYTES = 36

_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\x80-\U0010ffff]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_QUOTED_STRING = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\x80-\U0010ffff]|\\[\x20-\x7e])*"')
# Characters that may appear unquoted in a display-name phrase.
_PHRASE_ATOMS = re.compile(rf"{_ATEXT}(?: {_ATEXT})*")
_HEADER_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")
_MSGID_JUNK = re.compile(r"[\s<>\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Outgoing:
    to: str  # recipient address exactly as stored, may break RFC 5322 (taro..yamada.@docomo.ne.jp)
    subject: str
    body: str  # plain text (Japanese)
    from_addr: str
    from_name: str = ""
    in_reply_to: str = ""  # Message-ID without angle brackets, "" if none
    references: tuple[str, ...] = ()  # without angle brackets
    message_id: str = ""  # without brackets; "" → generated as f"{uuid}@{domain of from_addr}"
    reply_to: str = ""  # a reply address of its own (a booking dialog's book+K7Q2@...), "" for none
    calendar: str = ""  # an iCalendar text, attached as a UTF-8 text/calendar part ("" for none)


def _quote_local_part(local: str) -> str:
    """Quote a local part that is not a dot-atom (RFC 5321 section 4.1.2); keep one already quoted."""
    if _DOT_ATOM.fullmatch(local) or _QUOTED_STRING.fullmatch(local):
        return local
    escaped = local.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _format_address(addr: str) -> str:
    addr = addr.strip()
    if addr.startswith("<") and addr.endswith(">"):
        addr = addr[1:-1].strip()
    if any(c in addr for c in "\r\n\x00"):
        # Would let a stored address inject headers or SMTP commands.
        raise ValueError(f"address contains a line break or NUL: {addr!r}")
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an email address: {addr!r}")
    return f"{_quote_local_part(local)}@{domain}"


def envelope_recipient(addr: str) -> str:
    """The address as it must appear in RCPT TO: local part quoted when it is not a dot-atom."""
    return _format_address(addr)


def unanswerable(addr: str) -> str:
    """Why no mail can go to addr ("" when it can): asked before a reply is queued, so the outbox never
    holds a row that cannot become a mail."""
    try:
        formatted = _format_address(addr)
    except ValueError as e:
        return str(e)
    if len(formatted.encode()) > MAX_ADDRESS:
        return f"address longer than {MAX_ADDRESS} octets"
    return ""


def thread_id(msgid: str) -> str:
    """A Message-ID to thread a reply under, or "" when even alone it would not fit a header line: the
    reply then goes unthreaded rather than not at all."""
    cleaned = _clean_msgid(msgid)
    return cleaned if len(f"In-Reply-To: <{cleaned}>".encode()) <= MAX_LINE else ""


def _codec(charset: str) -> str:
    return "iso2022_jp" if charset == "ISO-2022-JP" else "utf-8"


def _encode(text: str, charset: str) -> bytes:
    # "replace" only matters for lone surrogates; ISO-2022-JP text has been through jis_safe.
    return text.encode(_codec(charset), "replace")


def _encoded_words(text: str, charset: str) -> list[str]:
    """RFC 2047 B-encoded words, each encoded on its own so ISO-2022-JP words end in ASCII."""
    chunks: list[str] = []
    chunk = ""
    for ch in text:
        if chunk and len(_encode(chunk + ch, charset)) > _WORD_BYTES:
            chunks.append(chunk)
            chunk = ch
        else:
            chunk += ch
    if chunk:
        chunks.append(chunk)
    return [f"=?{charset}?B?{base64.b64encode(_encode(c, charset)).decode('ascii')}?=" for c in chunks]


def _header_text(text: str, jis: bool) -> str:
    # A line break in a subject or name must not start a new header.
    text = _HEADER_CONTROLS.sub(" ", text).strip()
    return jis_safe(text) if jis else text


def _unstructured(name: str, text: str, charset: str) -> str:
    """Header line for free text: plain when short printable ASCII, else encoded-words."""
    line = f"{name}: {text}"
    if text.isascii() and "=?" not in text and len(line) <= 78:
        return line
    return f"{name}: " + f"{CRLF} ".join(_encoded_words(text, charset))


def _mailbox(name: str, addr: str, charset: str) -> str:
    formatted = _format_address(addr)
    if not name:
        return formatted
    if name.isascii() and len(name) <= 60:
        if _PHRASE_ATOMS.fullmatch(name) and "=?" not in name:
            return f"{name} <{formatted}>"
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{formatted}>'
    return f"{CRLF} ".join(_encoded_words(name, charset)) + f"{CRLF} <{formatted}>"


def _clean_msgid(msgid: str) -> str:
    # Ids are copied from incoming mail: drop brackets, blanks and controls instead of failing.
    return _MSGID_JUNK.sub("", msgid)


def _domain(addr: str) -> str:
    return domain_of(addr) or "mailgate.invalid"


def _split_to_fit(line: str, charset: str) -> list[str]:
    """Split a body line so each encoded piece is at most MAX_LINE octets."""
    pieces: list[str] = []
    piece = ""
    for ch in line:
        if piece and len(_encode(piece + ch, charset)) > MAX_LINE:
            pieces.append(piece)
            piece = ch
        else:
            piece += ch
    pieces.append(piece)
    return pieces


def _body_lines(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n")


def _jis_body(body: str) -> bytes:
    # Encoding line by line makes every line end in ASCII mode, as RFC 1468 requires.
    out = bytearray()
    for line in _body_lines(jis_safe(body)):
        for piece in _split_to_fit(line, "ISO-2022-JP"):
            out += _encode(piece, "ISO-2022-JP") + b"\r\n"
    return bytes(out)


def _utf8_body(body: str) -> bytes:
    raw = (CRLF.join(_body_lines(body)) + CRLF).encode("utf-8", "replace")
    return base64.encodebytes(raw).replace(b"\n", b"\r\n")


def _in_jis(out: Outgoing, kanji_substitutes: bool) -> Outgoing | None:
    """out as it goes in ISO-2022-JP, or None when that would lose a character (the customer's name
    is never garbled: such a mail goes in UTF-8, which carriers' smartphones read)."""
    if kanji_substitutes:
        out = replace(
            out,
            subject=substitute_kanji(out.subject),
            body=substitute_kanji(out.body),
            from_name=substitute_kanji(out.from_name),
        )
    return None if any(jis_loses(t) for t in (out.subject, out.body, out.from_name)) else out


def compose(
    out: Outgoing, *, carrier_domains: Iterable[str], now: datetime, kanji_substitutes: bool = False
) -> bytes:
    """The complete message, CRLF line endings, 7-bit clean.

    Carrier recipients get ISO-2022-JP (text passed through jis_safe) unless that would lose a
    character, everyone else UTF-8 in base64. kanji_substitutes: in ISO-2022-JP, 髙 may be 高 (and the
    other KANJI_SUBSTITUTES). ``now`` should be timezone-aware; a naive one is written as -0000.
    """
    in_jis = _in_jis(out, kanji_substitutes) if needs_jis(out.to, carrier_domains) else None
    jis = in_jis is not None
    out = in_jis or out
    charset = "ISO-2022-JP" if jis else "UTF-8"
    message_id = _clean_msgid(out.message_id) or f"{uuid.uuid4().hex}@{_domain(out.from_addr)}"

    headers = [
        "From: " + _mailbox(_header_text(out.from_name, jis), out.from_addr, charset),
        "To: " + _format_address(out.to),
        _unstructured("Subject", _header_text(out.subject, jis), charset),
        "Date: " + format_datetime(now),
        f"Message-ID: <{message_id}>",
    ]
    if out.reply_to:
        headers.append("Reply-To: " + _format_address(out.reply_to))
    in_reply_to = _clean_msgid(out.in_reply_to)
    if in_reply_to:
        headers.append(f"In-Reply-To: <{in_reply_to}>")
    references = [r for r in (_clean_msgid(r) for r in out.references) if r]
    if references:
        headers.append("References: " + f"{CRLF} ".join(f"<{r}>" for r in references))
    text_type = [
        f"Content-Type: text/plain; charset={charset}",
        "Content-Transfer-Encoding: " + ("7bit" if jis else "base64"),
    ]
    text = _jis_body(out.body) if jis else _utf8_body(out.body)
    if out.calendar:
        boundary = f"=_mailgate_{uuid.uuid4().hex}"
        content = [f'Content-Type: multipart/mixed; boundary="{boundary}"']
        calendar = _utf8_body(out.calendar)
        body = (
            f"--{boundary}{CRLF}".encode()
            + (CRLF.join(text_type) + CRLF + CRLF).encode()
            + text
            + f"--{boundary}{CRLF}".encode()
            + CRLF.join(
                [
                    "Content-Type: text/calendar; charset=UTF-8; method=PUBLISH",
                    "Content-Transfer-Encoding: base64",
                    'Content-Disposition: attachment; filename="booking.ics"',
                ]
            ).encode()
            + (CRLF + CRLF).encode()
            + calendar
            + f"--{boundary}--{CRLF}".encode()
        )
    else:
        content, body = text_type, text
    headers += [
        "MIME-Version: 1.0",
        *content,
        # RFC 3834: mark as automatic so vacation responders do not answer. No Precedence:
        # carriers may drop mail marked bulk.
        "Auto-Submitted: auto-replied",
        "X-Auto-Response-Suppress: All",
    ]
    head = (CRLF.join(headers) + CRLF + CRLF).encode("utf-8")
    message = head + body
    too_long = [line for line in message.split(b"\r\n") if len(line) > MAX_LINE]
    if too_long:
        raise ValueError(f"line longer than {MAX_LINE} octets: {too_long[0][:60]!r}...")
    return message
