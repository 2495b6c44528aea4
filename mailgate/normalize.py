"""Normalizers for what people type: names, readings (kana), phone numbers, PINs.

Each returns the stored form or raises NormalizeError with a Japanese message for the person typing.
Never run jaconv.normalize over phone numbers or times: it turns dashes and 〜 into ー.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv
import phonenumbers


class NormalizeError(ValueError):
    """Input a person must correct; str(e) is a Japanese message for them."""


_SPACES = re.compile(r"[\s\u3000]+")
# Every Unicode dash, minus and long-vowel look-alike people type between digits.
_DASHES = re.compile(
    "[\u002d\u2010-\u2015\u2212\u30fc\uff0d\uff70\u2043\ufe58\ufe63\u02d7\u207b\u208b\u2e3a\u2e3b\u301c\uff5e]"
)
_KATAKANA = re.compile(r"^[\u30a1-\u30fa\u30fc\u30fd\u30fe]+$")


class UnsafeCharacters(NormalizeError):
    """Controls, direction overrides, private-use or unassigned code points: never part of a name."""


# Invisible characters a copy and paste brings along (zero-width space, BOM, soft hyphen, word joiner).
_INVISIBLE = re.compile("[\u200b\ufeff\u00ad\u2060]")
# Cc controls (NUL, ESC), Cf format characters (U+202E and the other direction controls, ZWJ),
# Cs surrogates, Co private use, Cn unassigned: they change how a name displays, not what it says.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def name(value: str) -> str:
    text = _SPACES.sub("", unicodedata.normalize("NFKC", _INVISIBLE.sub("", value)))
    if not text:
        raise NormalizeError("お名前を入力してください。")
    if any(unicodedata.category(ch) in _UNSAFE_CATEGORIES for ch in text):
        raise UnsafeCharacters("お名前に使えない文字が含まれています。")
    if len(text) > 40:
        raise NormalizeError("お名前が長すぎます(40文字まで)。")
    return text


def kana(value: str) -> str:
    """Reading in full-width katakana; hiragana and half-width katakana are accepted."""
    text = _SPACES.sub("", value)
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)
    text = jaconv.hira2kata(text)
    if not text:
        raise NormalizeError("フリガナを入力してください。")
    if not _KATAKANA.match(text):
        raise NormalizeError("フリガナはカタカナ(またはひらがな)で入力してください。")
    if len(text) > 60:
        raise NormalizeError("フリガナが長すぎます。")
    return text


def phone(value: str) -> str:
    """Half-width digits only; full-width digits, hyphens, every Unicode dash and parentheses accepted."""
    text = unicodedata.normalize("NFKC", value)
    text = _DASHES.sub("", text)
    text = re.sub(r"[\s()（）.]", "", text)
    if text.startswith("+81"):
        text = "0" + text[3:]
    if not text:
        raise NormalizeError("電話番号を入力してください。")
    if not text.isascii() or not text.isdigit():
        raise NormalizeError("電話番号は数字で入力してください(例: 090-1234-5678)。")
    try:
        parsed = phonenumbers.parse(text, "JP")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise NormalizeError("電話番号の桁数が正しくありません(例: 090-1234-5678)。")
    return text


def pin(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    if not re.fullmatch(r"[0-9]{4}", text):
        raise NormalizeError("暗証番号は4桁の数字で入力してください。")
    return text


def mask_phone(value: str) -> str:
    """For logs: never a whole phone number."""
    return value[:3] + "*" * max(0, len(value) - 5) + value[-2:] if len(value) > 5 else "*" * len(value)


# A phone number as people write it: 090-1234-5678, ０９０１２３４５６７８, +81 90 1234 5678.
_PHONE_LIKE = re.compile(r"(?:\+81|[0０])(?:[\s\-‐‑–—−－()（）]?[0-9０-９]){8,}")


def redact(text: str) -> str:
    """Log lines quote what mail said (a field that could not be read); phone numbers stay masked."""
    return _PHONE_LIKE.sub(
        lambda m: mask_phone(re.sub(r"\D", "", unicodedata.normalize("NFKC", m.group(0)))), text
    )


def name_query(value: str) -> tuple[str, ...]:
    """The spellings a name or reading typed for a search may be stored as: width and spaces ignored
    (NFKC, as `name` stores them), hiragana and katakana alike. Empty when nothing was typed."""
    text = _SPACES.sub("", unicodedata.normalize("NFKC", _INVISIBLE.sub("", value)))
    if not text:
        return ()
    return tuple(dict.fromkeys((text, jaconv.hira2kata(text), jaconv.kata2hira(text))))


def phone_query(value: str) -> str:
    """The national digits of a phone number typed in any format (+81 90-1234-5678, ０９０…): the
    stored form for a whole number, the digits as typed for a part of one ("5678"); "" when none."""
    text = re.sub(r"[\s()（）.]", "", _DASHES.sub("", unicodedata.normalize("NFKC", value)))
    if text.startswith("+81"):  # also for numbers phonenumbers does not know (generated, new ranges)
        text = "0" + text[3:]
    try:
        parsed = phonenumbers.parse(text, "JP")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed) and parsed.country_code == 81:
        return "0" + phonenumbers.national_significant_number(parsed)
    return re.sub(r"\D", "", text)
