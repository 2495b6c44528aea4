"""Read a message that a mail client pasted inline ("---------- Forwarded message ---------").

Nothing here proves anything: the pasted text is whatever the forwarder's client wrote. It is turned
into a `ParsedMail` so the rules can read it like real mail; trust comes from the forwarder.
"""

from __future__ import annotations

import dataclasses
import email.utils
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from mailgate.mail.parse import ParsedMail, parse
from mailgate.mail.subjects import strip_forward_prefixes

TOKYO = ZoneInfo("Asia/Tokyo")
MAX_FORWARDS = 5

_PHRASES = (
    r"(?:forwarded\s+message|original\s+message|forwarded\s+e-?mail|message\s+transféré"
    r"|転送メッセージ|転送されたメッセージ|転送済みメッセージ|転送メール|元のメッセージ|オリジナルメッセージ)"
)
# "---------- Forwarded message ---------", "-----Original Message-----", "--- 転送メッセージ ---"
_DASHED = re.compile(rf"^[-=_]{{2,}}\s*{_PHRASES}\s*[-=_]*$", re.IGNORECASE)
# "Begin forwarded message:" (Apple Mail), "転送されたメッセージ:"
_COLON = re.compile(
    r"^(?:begin\s+forwarded\s+message|forwarded\s+message|転送されたメッセージ|転送メッセージ|以下転送(?:します)?)\s*:$",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^_{10,}$")  # Outlook's line above "From: / Sent: / To: / Subject:"
_QUOTE = re.compile(r"^[ \t]*>[ \t]?")
_LABEL = re.compile(r"^\s*([^\s:：]{1,20})\s*[:：]\s*(.*)$")
# Bounded, and without the spaces before it (a leading "\\s*" rescans a run of spaces from each one).
_MAILTO = re.compile(r"[<\[]mailto:[^>\]]{0,1000}[>\]]", re.IGNORECASE)

# Pseudo-header labels as clients write them, in English and Japanese.
_FIELDS: dict[str, str] = {
    "from": "from", "差出人": "from", "送信者": "from", "送信元": "from",
    "date": "date", "sent": "date", "日付": "date", "送信日時": "date", "日時": "date", "送信日": "date",
    "subject": "subject", "件名": "subject",
    "to": "to", "宛先": "to", "送信先": "to",
    "cc": "cc",
}  # fmt: skip
_TOLERATED = frozenset({"reply-to", "bcc", "importance", "返信先", "message-id", "sender"})

_ZONE_WORDS = frozenset({"JST", "GMT", "UTC", "UT", "Z"})
_WEEKDAY_PAREN = re.compile(r"[(（]\s*([^()（）\s]{1,12})\s*[)）]")
_YMD = re.compile(r"(\d{4})\s*[年/\-.]\s*(\d{1,2})\s*[月/\-.]\s*(\d{1,2})\s*日?")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MDY = re.compile(r"\b([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_DMY = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})\b")
_TIME = re.compile(
    r"(?:(午前|午後|[ap]\.?m\.?)\s*+)?(\d{1,2})\s*[:時]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})\s*秒?)?\s*分?\s*([ap]\.?m\.?\b)?",
    re.IGNORECASE,
)
_OFFSET = re.compile(r"(?:\b(?:GMT|UTC)\s*)?([+-])\s*(\d{1,2})(?::?(\d{2}))?\b")
_RFC5322_SHAPE = re.compile(
    r"^(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:[+-]\d{4}|[A-Za-z]{1,5}))?"
    r"(?:\s*\([^()]*\))?$"
)
_ZONE_NAME = re.compile(r"\b(JST|GMT|UTC|UT|Z)\b")


@dataclass(frozen=True)
class Forward:
    """One pasted message: its pseudo-headers (canonical names) and the text below them."""

    marker: str  # the separator line as written
    headers: dict[str, str]  # "from" | "date" | "subject" | "to" | "cc" → value as written
    body: str


def _unquote(line: str, depth: int | None = None) -> tuple[int, str]:
    """Remove up to `depth` leading "> " quote marks (all when None); (marks removed, rest)."""
    removed = 0
    while depth is None or removed < depth:
        m = _QUOTE.match(line)
        if not m:
            break
        line = line[m.end() :]
        removed += 1
    return removed, line


def is_marker(line: str) -> bool:
    text = unicodedata.normalize("NFKC", line).strip()
    return bool(_DASHED.match(text) or _COLON.match(text) or _OUTLOOK_RULE.match(text))


def _label(line: str) -> tuple[str, str] | None:
    """(canonical field or "", value) for a pseudo-header line; None when the line is not one."""
    m = _LABEL.match(line)
    if not m:
        return None
    name = unicodedata.normalize("NFKC", m.group(1)).lower()
    if name in _FIELDS:
        return _FIELDS[name], m.group(2)
    if name in _TOLERATED:
        return "", m.group(2)
    return None


def _read_block(lines: list[str]) -> tuple[dict[str, str], str] | None:
    i = 0
    while i < len(lines) and i < 3 and not lines[i].strip():
        i += 1  # Apple Mail leaves a blank line under "Begin forwarded message:"
    headers: dict[str, str] = {}
    last = ""
    seen = False
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            break
        found = _label(line)
        if found is not None:
            last, value = found
            seen = True
            if last and last not in headers:  # the first label wins (差出人 before a later 送信者)
                headers[last] = value.strip()
        elif seen and line[:1] in (" ", "\t") and last in headers:
            headers[last] += " " + line.strip()  # a wrapped To: list
        else:
            break
        i += 1
    if not seen or "from" not in headers:
        return None
    body = lines[i:]
    while body and not body[0].strip():
        body = body[1:]
    return headers, "\n".join(line.rstrip() for line in body).rstrip() + "\n"


def find_forwards(text: str) -> list[Forward]:
    """Pasted messages in a text body, outermost first (a forward of a forward gives two)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found: list[Forward] = []
    for i, line in enumerate(lines):
        depth, content = _unquote(line)
        if not is_marker(content):
            continue
        block = [_unquote(rest, depth)[1] for rest in lines[i + 1 :]]
        read = _read_block(block)
        if read is not None:
            found.append(Forward(marker=content.strip(), headers=read[0], body=read[1]))
            if len(found) >= MAX_FORWARDS:
                break
    return found


# --- dates as mail clients print them -------------------------------------------------------------


def _zone(rest: str) -> timezone | ZoneInfo | None:
    m = _OFFSET.search(rest)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours <= 14 and minutes < 60:
            sign = -1 if m.group(1) == "-" else 1
            return timezone(sign * timedelta(hours=hours, minutes=minutes))
    m = _ZONE_NAME.search(rest)
    if m:
        return TOKYO if m.group(1) == "JST" else UTC
    return None


def _strip_weekday(text: str) -> str:
    # "(木)", "（木曜日）", "(Thu)" carry nothing; "(UTC)" and "(JST)" do and stay.
    return _WEEKDAY_PAREN.sub(lambda m: m.group(0) if m.group(1).upper() in _ZONE_WORDS else " ", text)


def _rfc2822(text: str, default: ZoneInfo) -> datetime | None:
    # The stdlib parser guesses at anything (it reads "November 26, 2026 9:14 PM" as 09:14): only
    # hand it what is shaped like RFC 5322.
    if not _RFC5322_SHAPE.match(text):
        return None
    try:
        value = email.utils.parsedate_to_datetime(re.sub(r"\bJST\b", "+0900", text))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=default)


def loose_date(value: str, default: ZoneInfo = TOKYO) -> datetime | None:
    """An aware datetime from a date as a mail client printed it; `default` zone when none is given.

    Handles RFC 5322 ("Thu, 26 Nov 2026 21:14:03 +0900"), Japanese ("2026年11月26日(木) 21:14",
    "2026/11/26 午後9:14") and English client formats ("Thu, Nov 26, 2026 at 9:14 PM").
    """
    text = " ".join(unicodedata.normalize("NFKC", value or "").split())
    if not text:
        return None
    parsed = _rfc2822(text, default)
    if parsed is not None:
        return parsed
    text = _strip_weekday(text)
    date = _YMD.search(text)
    if date:
        year, month, day = int(date.group(1)), int(date.group(2)), int(date.group(3))
    else:
        date = _MDY.search(text) or _DMY.search(text)
        if not date:
            return None
        groups = date.groups()
        month_word, day_s = (groups[0], groups[1]) if date.re is _MDY else (groups[1], groups[0])
        if month_word.lower() not in _MONTHS:
            return None
        year, month, day = int(groups[2]), _MONTHS.index(month_word.lower()) + 1, int(day_s)
    rest = text[date.end() :]
    hour = minute = second = 0
    time = _TIME.search(rest)
    if time:
        hour, minute, second = int(time.group(2)), int(time.group(3)), int(time.group(4) or 0)
        half = (time.group(1) or time.group(5) or "").lower().replace(".", "")
        if half in ("午後", "pm") and hour < 12:
            hour += 12
        elif half in ("午前", "am") and hour == 12:
            hour = 0
        rest = rest[time.end() :]
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=_zone(rest) or default)
    except ValueError:
        return None


# --- a ParsedMail for the pasted message ---------------------------------------------------------


def _without_mailto(value: str) -> str:
    """ "taro@example.jp <mailto:taro@example.jp>" -> "taro@example.jp", spaces before it too."""
    kept: list[str] = []
    pos = 0
    for m in _MAILTO.finditer(value):
        kept.append(value[pos : m.start()].rstrip())
        pos = m.end()
    return "".join(kept) + value[pos:]


def _one_line(value: str) -> str:
    value = _without_mailto(value)
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def forward_bytes(forward: Forward, date: datetime | None) -> bytes:
    """A UTF-8 RFC 5322 message (8-bit headers, as parse() reads them) built from the pasted text."""
    lines = []
    for name, key in (("From", "from"), ("To", "to"), ("Cc", "cc"), ("Subject", "subject")):
        if forward.headers.get(key):
            lines.append(f"{name}: {_one_line(forward.headers[key])}")
    if date is not None:
        lines.append(f"Date: {email.utils.format_datetime(date)}")
    elif forward.headers.get("date"):
        lines.append(f"Date: {_one_line(forward.headers['date'])}")
    lines += [
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    text = "\r\n".join(lines) + "\r\n\r\n" + forward.body.replace("\n", "\r\n")
    return text.encode("utf-8", "replace")


def forward_mail(forward: Forward, outer_subject: str = "") -> ParsedMail:
    """The pasted message as mail; with no Subject line pasted, the forward's own subject without the
    prefixes the client put on it ("Fwd: Fwd: [STORES 予約] ..." → "[STORES 予約] ...")."""
    if not forward.headers.get("subject") and strip_forward_prefixes(outer_subject):
        headers = {**forward.headers, "subject": strip_forward_prefixes(outer_subject)}
        forward = dataclasses.replace(forward, headers=headers)
    date = loose_date(forward.headers.get("date", ""))
    mail = parse(forward_bytes(forward, date))
    # format_datetime() keeps the offset but not the zone name; keep the aware value as computed.
    return dataclasses.replace(mail, date=date) if date is not None else mail
