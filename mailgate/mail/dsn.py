"""Read a delivery report: RFC 3464 (multipart/report, message/delivery-status), and the plain-text
reports Japanese carriers send (docomo, au, SoftBank), down to one failure: who, the status code, the
diagnostic, hard (the address is gone) or soft (try again: mailbox full, a delay).

Bounded and linear: the text is the parser's (at most 100,000 characters), fields are cut, and the
only pattern (an enhanced status code) has fixed-width parts, so nothing backtracks.
"""

from __future__ import annotations

import email.message
import re
from dataclasses import dataclass

from mailgate.mail.parse import ParsedMail

MAX_FIELD = 1_000  # characters of a report field that are read
MAX_DIAGNOSTIC = 300  # characters of the diagnostic kept
MAX_BLOCKS = 50  # per-recipient blocks read of one report

HARD, SOFT, DELAY = "hard", "soft", "delay"

# An enhanced status code (RFC 3463): class, subject and detail, each bounded.
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_BASIC = re.compile(r"(?<!\d)([45])\d\d(?!\d)")

# What carriers and MTAs write instead of (or beside) a code, lowercased; first match wins.
_HARD_WORDS = (
    "user unknown", "unknown user", "no such user", "account is disabled", "does not exist",
    "mailbox unavailable", "invalid recipient", "recipient address rejected", "no mailbox here",
    "宛先不明", "存在しません", "存在しない", "アドレスが見つかりません",
)  # fmt: skip
_SOFT_WORDS = (
    "mailbox full", "mailbox is full", "quota", "not delivered within", "temporarily", "try again",
    "容量", "一時的",
)  # fmt: skip
_CARRIERS = (
    ("docomo.ne.jp", "docomo"),
    ("ezweb.ne.jp", "au"),
    ("au.com", "au"),
    ("softbank.ne.jp", "softbank"),
    ("i.softbank.jp", "softbank"),
)


@dataclass(frozen=True)
class Report:
    kind: str  # hard | soft | delay | "" (cannot tell)
    status: str  # "5.1.1", or a reply code "550", or ""
    recipient: str  # the failed address as the report names it, "" when it names none
    diagnostic: str  # the remote server's words, cut
    form: str  # rfc3464 | docomo | au | softbank | text

    def summary(self) -> str:
        words = f": {self.diagnostic}" if self.diagnostic else ""
        return f"{self.kind or 'unclassified'} bounce {self.status or '(no status)'} ({self.form}){words}"


def _cut(value: object, limit: int = MAX_FIELD) -> str:
    return " ".join(str(value or "")[:limit].split())


def _leaves(msg: email.message.Message) -> list[email.message.Message]:
    """The report's parts, one level of multipart/report (and one nested multipart) deep."""
    out: list[email.message.Message] = []
    stack = [(msg, 0)]
    while stack and len(out) < MAX_BLOCKS:
        part, depth = stack.pop(0)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list) and depth < 3 and part.get_content_maintype() == "multipart":
            stack += [(p, depth + 1) for p in payload[:MAX_BLOCKS] if isinstance(p, email.message.Message)]
        else:
            out.append(part)
    return out


def _value(field: str) -> str:
    """`rfc822; a@b` → `a@b`, `smtp; 550 ...` → `550 ...` (the type before `;` is dropped)."""
    kind, semi, rest = field.partition(";")
    return (rest if semi else kind).strip().strip("<>")


def _classify(status: str, text: str) -> str:
    """hard | soft by the code (x.2.2 mailbox full and x.4.7 expired are soft whatever the class;
    x.7.x is policy, possibly about us rather than the address: soft), else by the words."""
    lowered = text.lower()
    if status.count(".") == 2:
        klass, subject, detail = status.split(".")
        if klass == "4" or (subject, detail) in (("2", "2"), ("4", "7")) or subject == "7":
            return SOFT
        if klass == "5":
            return HARD
    if any(w in lowered for w in _SOFT_WORDS):
        return SOFT
    if any(w in lowered for w in _HARD_WORDS):
        return HARD
    if status[:1] == "5":
        return HARD
    if status[:1] == "4":
        return SOFT
    return ""


def _status_in(text: str) -> str:
    found = _ENHANCED.search(text)
    if found:
        return found.group(0)
    basic = _BASIC.search(text)
    return basic.group(0) if basic else ""


def _from_delivery_status(part: email.message.Message) -> Report | None:
    """The first recipient block that failed (or was delayed) of a message/delivery-status part."""
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    for block in blocks[:MAX_BLOCKS]:
        if not isinstance(block, email.message.Message):
            continue
        action = _cut(block.get("Action")).lower()
        recipient = _value(_cut(block.get("Final-Recipient") or block.get("Original-Recipient")))
        if not recipient or action not in ("failed", "delayed"):
            continue
        status = _cut(block.get("Status"), 20)
        diagnostic = _value(_cut(block.get("Diagnostic-Code")))[:MAX_DIAGNOSTIC]
        status = _status_in(status) or _status_in(diagnostic)  # "5.1.1 (user unknown)" is seen too
        kind = DELAY if action == "delayed" else _classify(status, diagnostic)
        return Report(kind, status, recipient, diagnostic, "rfc3464")
    return None


def _carrier(mail: ParsedMail) -> str:
    """Which carrier's mail system wrote the report, by its From and Received lines."""
    seen = " ".join([mail.from_addr, *map(str, (mail.headers.get_all("Received") or [])[:5])])
    lowered = seen[: MAX_FIELD * 5].lower()
    for domain, name in _CARRIERS:
        if domain in lowered:
            return name
    return "text"


def _recipient_in(lines: list[str]) -> str:
    """The first address in the report's text: <a@b>, or a word with an @ in it."""
    for line in lines:
        for word in line.replace("<", " ").replace(">", " ").replace("(", " ").replace(")", " ").split():
            local, at, domain = word.strip(".,:;\"'").rpartition("@")
            if at and local and "." in domain:
                return f"{local}@{domain}"
    return ""


def _diagnostic_in(lines: list[str], status: str) -> str:
    """The line that carries the status code or the words that classified it."""
    words = (*_HARD_WORDS, *_SOFT_WORDS)
    for line in lines:
        lowered = line.lower()
        if (status and status in line) or any(w in lowered for w in words):
            return _cut(line, MAX_DIAGNOSTIC)
    return ""


def _from_text(mail: ParsedMail) -> Report | None:
    """A plain-text report (docomo's sendmail transcript, au's "Mail System Error", SoftBank's
    Japanese notice): the code, the words and the first address it names."""
    text = mail.text
    lines = [line for line in text.split("\n") if line.strip()][:2000]
    recipient = _recipient_in(lines)
    status = _status_in(text)
    kind = _classify(status, text)
    if not kind and not status:
        return None
    return Report(kind, status, recipient, _diagnostic_in(lines, status), _carrier(mail))


def read_report(mail: ParsedMail) -> Report | None:
    """The failure a delivery report is about; None when the mail does not read as one."""
    try:
        for part in _leaves(mail.headers):
            if part.get_content_type() == "message/delivery-status":
                found = _from_delivery_status(part)
                if found is not None:
                    return found
    except Exception:  # a broken report part: its text may still say enough
        pass
    return _from_text(mail)
