"""Posted forms: the body as text (UTF-8 or the Shift_JIS feature phones post), at most 64 KB, and the
checks every form shares (its CSRF token; what to show again when a field must be corrected)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import parse_qsl

from starlette.requests import Request

from mailgate.web import csrf
from mailgate.web.pages import Page, message

MAX_FORM_BYTES = 64 * 1024
_SJIS = {
    "shift_jis",
    "shift-jis",
    "sjis",
    "x-sjis",
    "s-jis",
    "windows-31j",
    "cp932",
    "ms_kanji",
    "csshiftjis",
}
_UTF8 = {"utf-8", "utf8"}
# Fields of the customer's details, shown again as typed when one must be corrected (never the PIN).
DETAIL_FIELDS = ("name", "name_kana", "phone")


def _codec(label: str) -> str | None:
    label = label.strip().lower()
    if label in _UTF8:
        return "utf-8"
    if label in _SJIS:
        return "cp932"
    return None


def decode_form(body: bytes, content_type: str = "") -> dict[str, str]:
    """An application/x-www-form-urlencoded body as text. UTF-8 unless the browser said (`_charset_`,
    Content-Type) or the bytes show (not valid UTF-8) that it posted Shift_JIS, as feature phones do."""
    # Some old browsers post raw 8-bit bytes: percent-encode them so parse_qsl sees one encoding.
    ascii_body = re.sub(rb"[\x80-\xff]", lambda m: b"%%%02X" % m.group()[0], body).decode("ascii")
    raw_pairs = parse_qsl(ascii_body, keep_blank_values=True, encoding="latin-1")
    hints = [v for k, v in raw_pairs if k == "_charset_"]
    m = re.search(r"charset=\"?([\w.:-]+)", content_type, re.I)
    if m:
        hints.append(m.group(1))
    order = [c for c in (_codec(h) for h in hints) if c] + ["utf-8"]
    for codec in dict.fromkeys(order):
        try:
            pairs = parse_qsl(ascii_body, keep_blank_values=True, encoding=codec, errors="strict")
            break
        except UnicodeDecodeError:
            continue
    else:
        pairs = parse_qsl(ascii_body, keep_blank_values=True, encoding="cp932", errors="replace")
    return {k: v for k, v in pairs if k != "_charset_"}


def _too_large() -> Page:
    return message(413, "送信内容が大きすぎます", "入力内容を短くして、もう一度お試しください。")


async def read_form(request: Request) -> dict[str, str]:
    """The posted form, or Page(413) past MAX_FORM_BYTES (said or streamed)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise _too_large()
    return decode_form(bytes(body), request.headers.get("content-type", ""))


def csrf_fields(secrets: Sequence[str], purpose: str, signed: str) -> dict[str, str]:
    """What a form template needs for its CSRF field, bound to the link the page was shown for."""
    return {"csrf_field": csrf.FIELD, "csrf": csrf.make(secrets, purpose, signed)}


def check_csrf(secrets: Sequence[str], purpose: str, signed: str, form: dict[str, str]) -> None:
    """Page(403) unless the form carries a live CSRF token of this link."""
    if not csrf.verify(secrets, purpose, signed, form.get(csrf.FIELD)):
        raise message(
            403,
            "ページの有効期限が切れました",
            "ページの有効期限が切れました。もう一度リンクを開いてください。",
            again=True,
        )


def typed_details(form: dict[str, str]) -> dict[str, str]:
    return {k: form.get(k, "") for k in DETAIL_FIELDS}
