"""Turn raw inbound mail into plain fields the rest of mailgate can trust.

Parsing uses email.policy.compat32: the modern policies raise on, or rewrite, the RFC-breaking
carrier addresses we must keep verbatim. Every field is extracted on its own and a failure empties
only that field, so one malformed header never loses the whole mail.
"""

from __future__ import annotations

import binascii
import email
import email.message
import email.parser
import email.policy
import email.utils
import quopri
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from typing import TypeVar

from mailgate.mail.addresses import extract_addresses
from mailgate.mail.charsets import decode_bytes
from mailgate.mail.depth import multipart_depth
from mailgate.mail.headers import decode_header_value, raw_header_text
from mailgate.mail.html import html_to_text

T = TypeVar("T")

# Real mail nests a few levels (a forward of a forward of a multipart/alternative notice is about 6).
MAX_MULTIPART_DEPTH = 12
# What the rules may examine of one mail: vendor notices and blank mails are a few kilobytes, and
# every reader of these fields then works on a bounded text.
MAX_TEXT = 100_000  # characters of the body text
MAX_HTML = 1_000_000  # characters of an HTML body converted to text
MAX_SUBJECT = 1_000

_MSGID = re.compile(r"<([^<>]*)>")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_ZONE_NAMES = re.compile(r"\b(JST|KST)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without angle brackets or whitespace; "" if none
    from_addr: str  # first From address exactly as received ("" if none)
    from_name: str  # decoded display name
    to_addrs: tuple[str, ...]
    subject: str  # decoded, whitespace-collapsed, stripped
    date: datetime | None  # aware when the header has a zone; None if missing/unparsable
    text: str  # the best text body, decoded, newlines normalised to \n
    html_only: bool  # True when text was derived from an HTML part
    return_path: str | None  # None without a Return-Path header; "" for <>
    in_reply_to: str  # first id, brackets stripped like message_id
    references: tuple[str, ...]  # ids in order, brackets stripped
    headers: email.message.Message  # the compat32 parse, for header lookups
    attachments: tuple[email.message.Message, ...]  # forwarded message/rfc822 parts, in order


def _safe(fn: Callable[[], T], default: T) -> T:
    try:
        return fn()
    except Exception:  # parse() promises garbage in, empty fields out
        return default


def _header(msg: email.message.Message, name: str) -> str | Header | None:
    value = msg.get(name)
    return value if isinstance(value, str | Header) else None


def _ids(value: str) -> list[str]:
    """Message-IDs without brackets or whitespace; bare ids when a mailer forgot the brackets."""
    found = [re.sub(r"\s+", "", m) for m in _MSGID.findall(value)]
    found = [m for m in found if m]
    if found:
        return found
    return [w for w in (re.sub("[<>]", "", w) for w in value.split()) if w]


def _message_id(value: str) -> str:
    found = _MSGID.findall(value)
    if found:
        return re.sub(r"\s+", "", found[0])
    return re.sub(r"[\s<>]+", "", value)  # a broken id: keep its characters, never brackets


def _date(value: str) -> datetime | None:
    value = " ".join(value.split())
    if not value:
        return None
    # Japanese mailers still write the zone as "JST"; the stdlib treats unknown names as no zone.
    value = _ZONE_NAMES.sub("+0900", value)
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    try:
        return datetime.fromisoformat(value.replace("/", "-"))
    except ValueError:
        return None


# --- bodies --------------------------------------------------------------------------------------


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _subparts(part: email.message.Message) -> list[email.message.Message]:
    # get_payload() on a leaf may itself raise (RFC 2231 charset tuples), so only ask multiparts.
    if not part.is_multipart():
        return []
    payload = part.get_payload()
    return (
        [sub for sub in payload if isinstance(sub, email.message.Message)]
        if isinstance(payload, list)
        else []
    )


def _part_bytes(part: email.message.Message) -> bytes:
    """A leaf's body with its transfer encoding undone; the raw bytes when that fails."""
    try:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return payload
    except Exception:
        pass
    raw = part._payload  # the public getter may raise on the very input we are recovering from
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _part_charset(part: email.message.Message) -> str | None:
    charset = _safe(lambda: part.get_content_charset(), None)
    return charset if isinstance(charset, str) else None


def _decode_part(part: email.message.Message, html: bool) -> str:
    data = _part_bytes(part)
    charset = _part_charset(part)
    if charset is None and html:
        meta = _META_CHARSET.search(data[:4096])
        if meta:
            charset = meta.group(1).decode("ascii", "replace")
    return _normalize_newlines(decode_bytes(data, charset))


def _is_attachment(part: email.message.Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).split(";", 1)[0].strip().lower()
    return disposition == "attachment"


def _leaves(msg: email.message.Message) -> list[email.message.Message]:
    """Non-multipart parts in order, without descending into forwarded (message/*) mail."""
    out: list[email.message.Message] = []

    def visit(part: email.message.Message, depth: int) -> None:
        if depth > 50:  # hostile nesting
            return
        forwarded = part.get_content_maintype() == "message" and part is not msg
        if not part.is_multipart() or forwarded:
            out.append(part)
        else:
            for sub in _subparts(part):
                visit(sub, depth + 1)

    visit(msg, 0)
    return out


def body_text(msg: email.message.Message) -> tuple[str, bool]:
    """(text, html_only): the first inline text/plain part, else the first text/html converted."""
    try:
        if msg.get_content_type() == "message/rfc822" and _subparts(msg):
            return body_text(_subparts(msg)[0])
        leaves = _leaves(msg)
        for part in leaves:
            if part.get_content_type() == "text/plain" and not _is_attachment(part):
                return _decode_part(part, html=False), False
        for part in leaves:
            if part.get_content_type() == "text/html" and not _is_attachment(part):
                return html_to_text(_decode_part(part, html=True)[:MAX_HTML]), True
        # A multipart without a usable boundary comes back as one string: better read than lost.
        if msg.get_content_maintype() == "multipart" and not msg.is_multipart():
            return _decode_part(msg, html=False), False
        return "", False
    except Exception:
        return "", False


def _encoded_rfc822(part: email.message.Message) -> email.message.Message | None:
    """message/rfc822 that the forwarding mailer base64/QP-encoded (not allowed, but seen).

    The parser reads the encoded text as a header-less message; decode that text and parse again.
    """
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte not in ("base64", "quoted-printable"):
        return None
    inner = next(iter(_subparts(part)), None)
    if inner is not None and inner.keys():
        return None  # it parsed as a real message after all
    data = _part_bytes(inner if inner is not None else part)
    decoded = binascii.a2b_base64(data) if cte == "base64" else quopri.decodestring(data)
    return email.message_from_bytes(decoded, policy=email.policy.compat32)


def _attachments(msg: email.message.Message) -> tuple[email.message.Message, ...]:
    found: list[email.message.Message] = []
    for part in _leaves(msg):
        if part.get_content_type() != "message/rfc822" or part is msg:
            continue
        recovered = _safe(lambda p=part: _encoded_rfc822(p), None)
        if recovered is not None:
            found.append(recovered)
        elif _subparts(part):
            found.append(_subparts(part)[0])
    return tuple(found)


def _to_addrs(msg: email.message.Message) -> tuple[str, ...]:
    values = msg.get_all("To") or []
    out: list[str] = []
    for value in values:
        if isinstance(value, str | Header):
            out += [addr for _, addr in extract_addresses(raw_header_text(value)) if addr]
    return tuple(out)


def _from(msg: email.message.Message) -> tuple[str, str]:
    found = extract_addresses(raw_header_text(_header(msg, "From")))
    return (found[0][1], found[0][0]) if found else ("", "")


def _subject(msg: email.message.Message) -> str:
    return " ".join(decode_header_value(_header(msg, "Subject")).split())[:MAX_SUBJECT]


def _return_path(msg: email.message.Message) -> str | None:
    value = _header(msg, "Return-Path")
    if value is None:
        return None
    found = extract_addresses(raw_header_text(value))
    return found[0][1] if found else ""


def _message(raw: bytes) -> email.message.Message:
    if multipart_depth(raw, MAX_MULTIPART_DEPTH) <= MAX_MULTIPART_DEPTH:
        try:
            return email.message_from_bytes(raw, policy=email.policy.compat32)
        except Exception:
            pass
    # The parser recurses once per MIME level (~1000 levels deep is a RecursionError) and its cost is
    # lines times depth. The headers (who to answer, the Message-ID) are still read; the body is not.
    try:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
    except Exception:
        return email.message.Message()
    msg.set_payload("")
    return msg


def parse(raw: bytes) -> ParsedMail:
    """Parse raw RFC 5322 bytes. Never raises: unreadable parts come back as empty fields."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    msg = _message(bytes(raw))

    from_addr, from_name = _safe(lambda: _from(msg), ("", ""))
    text, html_only = _safe(lambda: body_text(msg), ("", False))
    return ParsedMail(
        message_id=_safe(lambda: _message_id(raw_header_text(_header(msg, "Message-ID"))), ""),
        from_addr=from_addr,
        from_name=from_name,
        to_addrs=_safe(lambda: _to_addrs(msg), ()),
        subject=_safe(lambda: _subject(msg), ""),
        date=_safe(lambda: _date(decode_header_value(_header(msg, "Date"))), None),
        text=text[:MAX_TEXT],
        html_only=html_only,
        return_path=_safe(lambda: _return_path(msg), None),
        in_reply_to=_safe(lambda: next(iter(_ids(raw_header_text(_header(msg, "In-Reply-To")))), ""), ""),
        references=_safe(lambda: tuple(_ids(raw_header_text(_header(msg, "References")))), ()),
        headers=msg,
        attachments=_safe(lambda: _attachments(msg), ()),
    )
