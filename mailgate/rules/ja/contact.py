"""The customer in a notice: name, reading in katakana, email address and phone number."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mailgate import normalize
from mailgate.rules.ja.values import SPACES, FieldError, nfkc, nonempty, quote

_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+$")
# At most a domain's length: a line of a thousand "@" must not be scanned to its end from each one.
_DOMAIN_RAW = re.compile(r"[^\s<>()\[\],;:\"'、。，（）「」＜＞【】]{1,255}")
_DOMAIN = re.compile(r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_PHONE = re.compile(
    "[+(]?[0-9][0-9()\\s\\-\u2010-\u2015\u2212\u30fc\uff0d\uff70\u2043\ufe58\ufe63\u02d7\u207b\u208b"
    "\u2e3a\u2e3b\u301c\uff5e~]*[0-9]"
)
_HONORIFICS = ("様", "さま", "さん", "殿")
_CONTACT_LABEL = re.compile(
    r"^(?:TEL|Tel|tel|電話番号?|携帯(?:電話)?(?:番号)?|E-?[Mm]ail|[Mm]ail|メール(?:アドレス)?)\s*[:：]?\s*"
)
_PARENS = re.compile(r"^[(（](.*)[)）]$")
# A customer block may carry a note under the name ("初めての来店です", "※初回", "備考: 紹介者 佐藤").
# These never make a name: sentence punctuation, a leading mark, a label, words no name contains.
_SENTENCE = re.compile(r"[。！？!?、，,]")
_NOTE_MARK = re.compile(r"^[※＊*・･●■◆◇□○◎★☆▼▽【\[<＜〈《]")
_LABELLED = re.compile(r"^[^:：]{1,16}[:：]")
_NOTE_WORDS = re.compile(
    r"来店|予約|希望|要望|備考|紹介|駐車|連絡|初回|初めて|はじめて|お願い|よろしく|宜しく|メモ|注意|持参|遅れ|遅刻"
    r"|ください|下さい|施術|痛|こり|コリ|あり$|なし$"
)
_MAX_NAME = 20  # characters, spaces removed: longer is a sentence, not a name
_KANA_CHARS = re.compile(r"^[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe\uff66-\uff9f\s\u3000・･]+$")


def _find_email(line: str) -> tuple[str, int, int] | None:
    """(address, start, end) of the first token with @ in line; the local part is kept exactly as written."""
    text = line.replace("＠", "@")
    for at in (i for i, ch in enumerate(text) if ch == "@"):
        local = _LOCAL.search(text, max(0, at - 64), at)  # a local part is at most 64 characters
        raw = _DOMAIN_RAW.match(text, at + 1)
        if not local or not raw:
            continue
        domain = nfkc(raw.group()).rstrip(".")
        dm = _DOMAIN.match(domain)
        if dm is None:
            continue
        return f"{local.group()}@{dm.group()}", local.start(), raw.end()
    return None


@dataclass(frozen=True)
class _Phone:
    digits: str | None  # None: shaped like a phone number but not one
    start: int  # span in the NFKC text of the line
    end: int
    candidate: str


def _find_phone(line: str) -> _Phone | None:
    """The first run of 10+ digits with phone punctuation in NFKC(line), read by normalize.phone."""
    text = nfkc(line)
    for m in _PHONE.finditer(text):
        candidate = m.group()
        if sum(ch.isdigit() for ch in candidate) < 10:
            continue
        try:
            # "+81 (0)90-..." writes the trunk 0 too; normalize.phone reads +81 itself.
            digits: str | None = normalize.phone(candidate.replace("(0)", ""))
        except normalize.NormalizeError:
            digits = None
        return _Phone(digits, m.start(), m.end(), candidate)
    return None


# Honorifics and trailing readings are cut with string methods: the regular expressions they
# replaced rescanned a run of spaces from every position in it.


def _without_honorific(text: str) -> str:
    """ "山田 太郎 様" -> "山田 太郎" (the spaces before the honorific go with it)."""
    for honorific in _HONORIFICS:
        if text.endswith(honorific):
            return text.removesuffix(honorific).rstrip()
    return text


def _trailing_parens(text: str) -> tuple[str, str] | None:
    """ "井戸 貴之（イド タカユキ）様" -> ("井戸 貴之", "イド タカユキ"): a name, then its last
    parenthesised part (no parentheses inside), then at most spaces and an honorific."""
    body = text
    for honorific in _HONORIFICS:
        if body.endswith(honorific):
            body = body.removesuffix(honorific)
            break
    body = body.rstrip()
    if not body or body[-1] not in ")）":
        return None
    opening = max(body.rfind("(", 0, len(body) - 1), body.rfind("（", 0, len(body) - 1))
    inner = body[opening + 1 : -1]
    if opening < 0 or ")" in inner or "）" in inner:
        return None
    return body[:opening].rstrip(), inner


def _kana_of(text: str) -> str | None:
    """The reading in katakana, spaces and ・ removed; None when text is not kana."""
    text = _without_honorific(text.strip())
    if not text or not _KANA_CHARS.match(text):
        return None
    try:
        return normalize.kana(re.sub(r"[・･]", "", text))
    except normalize.NormalizeError:
        return None


def _name_of(text: str) -> str | None:
    text = SPACES.sub("", nfkc(_without_honorific(text.strip())))
    # "〒100-0001", an address, a lone "-" or a mangled email address is not part of a name.
    if not any(ch.isalpha() for ch in text) or any(ch.isdigit() or ch == "@" for ch in text):
        return None
    try:
        return normalize.name(text)
    except normalize.UnsafeCharacters:
        raise FieldError(
            f"characters a name cannot have (controls, direction overrides) in {quote(text)}"
        ) from None
    except normalize.NormalizeError:
        return None


def _is_note(text: str) -> bool:
    folded = nfkc(text).strip()
    return bool(
        _SENTENCE.search(folded)
        or _NOTE_MARK.match(folded)
        or _LABELLED.match(folded)
        or _NOTE_WORDS.search(folded)
        or len(SPACES.sub("", folded)) > _MAX_NAME
    )


@dataclass
class _Parts:
    names: list[str]
    readings: list[str]  # written in parentheses: "(ヤマダ タロウ)", "井戸 貴之（イド タカユキ）"
    bare_kana: list[str]  # kana lines under a name not itself in kana: a reading without parentheses
    emails: list[str]
    phones: list[str]


def _parts(lines: Sequence[str]) -> _Parts:
    parts = _Parts([], [], [], [], [])
    kanji_name = False
    complete = False  # the name is whole: written with a space, in two parts, or contacts came after it
    for line in nonempty(lines):
        if parts.names and (parts.emails or parts.phones or parts.readings or parts.bare_kana):
            complete = True
        rest = line.replace("＠", "@")
        mail = _find_email(rest)
        if mail:
            parts.emails.append(mail[0])
            rest = (rest[: mail[1]] + " " + rest[mail[2] :]).strip()
        tel = _find_phone(rest)
        if tel:
            rest = nfkc(rest)
            alone = not _CONTACT_LABEL.sub("", rest[: tel.start] + rest[tel.end :]).strip(" :,/")
            if tel.digits is None and alone:
                raise FieldError(f"not a phone number {quote(tel.candidate)}")
            if tel.digits is not None:
                parts.phones.append(tel.digits)
                rest = (rest[: tel.start] + " " + rest[tel.end :]).strip()
        rest = _CONTACT_LABEL.sub("", rest).strip(" \u3000:：,、/")
        if not rest:
            continue
        paren = _PARENS.match(rest)
        if paren:
            reading = _kana_of(paren.group(1))
            if reading:
                parts.readings.append(reading)
            continue
        trailing = _trailing_parens(rest)
        if trailing and trailing[0].strip():
            rest = trailing[0]
            reading = _kana_of(trailing[1])
            if reading:
                parts.readings.append(reading)
        if _is_note(_without_honorific(rest)):
            continue
        name_part = _name_of(rest)
        if name_part is None:
            continue
        reading = _kana_of(rest)
        if reading and kanji_name:
            parts.bare_kana.append(reading)
        elif not complete:
            parts.names.append(name_part)
            kanji_name = kanji_name or reading is None
            spaced = bool(SPACES.search(nfkc(_without_honorific(rest)).strip()))
            complete = spaced or len(parts.names) >= 2
    return parts


def person(lines: list[str]) -> dict[str, str]:
    """A 予約者 block -> {"name", "name_kana", "email", "phone"} with only the keys present.

    Lines in any order: name ("山田 太郎", "井戸 貴之 様", "井戸 貴之（イド タカユキ）"),
    reading ("(ヤマダ タロウ)" or a bare kana line under the name),
    email (exactly as written, ＠ read as @), phone (half-width digits). A line holding only something
    shaped like a phone number that is not one raises FieldError rather than dropping it silently.
    """
    parts = _parts(lines)
    out: dict[str, str] = {}
    if parts.names:
        out["name"] = "".join(parts.names)
    readings = parts.readings or parts.bare_kana
    if readings:
        out["name_kana"] = "".join(readings)
    if parts.emails:
        out["email"] = parts.emails[0]
    if parts.phones:
        out["phone"] = parts.phones[0]
    if not out:
        raise FieldError(f"no name, email or phone in {quote(lines)}")
    return out


def name(lines: list[str]) -> str:
    """ "山田 太郎 様" -> "山田太郎"; lines (姓, 名) are joined; readings and contact lines left out."""
    parts = _parts(lines)
    if not parts.names:
        raise FieldError(f"no name in {quote(lines)}")
    return "".join(parts.names)


def kana(lines: list[str]) -> str:
    """Katakana reading: "(ヤマダ タロウ)", "井戸 貴之（イド タカユキ）", or kana lines (セイ, メイ)."""
    parts = _parts(lines)
    readings = parts.readings or parts.bare_kana
    if not readings and parts.names and all(_kana_of(n) for n in parts.names):
        readings = [r for r in (_kana_of(n) for n in parts.names) if r]
    if not readings:
        raise FieldError(f"no reading in katakana in {quote(lines)}")
    return "".join(readings)


def email(lines: list[str]) -> str:
    for line in lines:
        found = _find_email(line)
        if found:
            return found[0]
    raise FieldError(f"no email address in {quote(lines)}")


def phone(lines: list[str]) -> str:
    """Half-width digits: "090（1234）5678", "０９０−１２３４−５６７８", "+81 90-1234-5678" -> "090..."."""
    for line in lines:
        found = _find_phone(line)
        if found is None:
            continue
        if found.digits is None:
            raise FieldError(f"not a phone number {quote(found.candidate)}")
        return found.digits
    raise FieldError(f"no phone number in {quote(lines)}")
