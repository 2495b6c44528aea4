"""Decode Japanese mail text: bytes in the charset they declare, or the one they are really in.

Japanese mail still arrives in ISO-2022-JP, Shift_JIS and EUC-JP, often labelled wrongly, and written
on Windows or feature phones whose character sets are supersets of the standards (NEC row 13 such as
① and ㈱, IBM kanji such as 髙, carrier emoji in the user-defined area). Python's strict codecs lose
those, so everything here goes through cp932 where possible. Nothing in this module raises.
"""

from __future__ import annotations

import re

from mailgate.mail.jis_decode import euc_to_text, iso2022_to_text, strict

_SJIS = frozenset(
    {
        "shift-jis",
        "shiftjis",
        "sjis",
        "x-sjis",
        "s-jis",
        "ms-kanji",
        "mskanji",
        "csshiftjis",
        "windows-31j",
        "cswindows31j",
        "cp932",
        "ms932",
        "ibm-943",
        "x-ms-cp932",
        "shift-jisx0213",
        "shift-jis-2004",
        "x-sjis-docomo",
        "x-sjis-kddi",
        "x-sjis-softbank",
    }
)
_ISO2022 = frozenset(
    {
        "iso-2022-jp",
        "iso2022-jp",
        "iso2022jp",
        "csiso2022jp",
        "iso-2022-jp-ext",
        "iso-2022-jp-1",
        "iso-2022-jp-2",
        "iso-2022-jp-3",
        "iso-2022-jp-2004",
        "iso-2022-jp-ms",
        "cp50220",
        "cp50221",
        "cp50222",
        "jis",
        "x-iso-2022-jp-kddi",
    }
)
_EUC = frozenset(
    {
        "euc-jp",
        "eucjp",
        "x-euc-jp",
        "x-eucjp",
        "euc-jp-ms",
        "eucjp-ms",
        "eucjp-win",
        "cp51932",
        "cseucpkdfmtjapanese",
        "euc-jis-2004",
        "euc-jisx0213",
    }
)
# us-ascii is in here on purpose: 8-bit UTF-8 labelled us-ascii (or not labelled) is common.
_UTF8 = frozenset({"utf-8", "utf8", "utf-8-sig", "us-ascii", "ascii", "unicode-1-1-utf-8", "ansi-x3.4-1968"})
# Western 8-bit labels that Japanese mailers put on Shift_JIS/EUC bytes by mistake.
_WESTERN = frozenset({"iso-8859-1", "latin-1", "latin1", "l1", "windows-1252", "cp1252", "iso-8859-15"})

_ESC_SEQ = re.compile(rb"\x1b[$(][@BJIDOPQ(]")
_BOM = b"\xef\xbb\xbf"


def norm_charset(charset: str | None) -> str:
    """The label lower-cased, unquoted, with - for _ and no RFC 2231 language: "shift-jis"."""
    if not charset:
        return ""
    name = str(charset).strip().strip("\"'").strip().lower().replace("_", "-")
    # RFC 2231 language suffix: charset*lang
    return name.split("*", 1)[0]


def _valid_utf8_text(data: bytes) -> str | None:
    if data.startswith(_BOM):
        data = data[3:]
    return strict(data, "utf-8")


def _looks_utf8(data: bytes, legacy: str | None) -> str | None:
    """UTF-8 text under a legacy Japanese label; `legacy` is the strict decoding by that label.

    Real Shift_JIS/EUC-JP text is rarely valid UTF-8 once it has two or more non-ASCII characters,
    while cp932 happily 'decodes' UTF-8 bytes into mojibake, so valid UTF-8 wins unless the legacy
    reading looks more like Japanese.
    """
    if data.isascii():
        return None
    text = _valid_utf8_text(data)
    if text is None or sum(1 for ch in text if ord(ch) >= 0x800) < 2:
        return None
    if legacy is not None and _score(legacy) > _score(text):
        return None
    return text


def _score(text: str) -> int:
    """How much a candidate decoding looks like Japanese text rather than mojibake.

    Kana and everyday (JIS level 1) kanji count most; mojibake is mostly rare kanji, half-width
    katakana, private-use and C1 characters. Only the start is scored: it is a tie-breaker.
    """
    score = 0
    for ch in text[:4000]:
        cp = ord(ch)
        if 0x3041 <= cp <= 0x30FC or 0x3000 <= cp <= 0x3002 or 0xFF01 <= cp <= 0xFF5E:
            score += 3
        elif 0x4E00 <= cp <= 0x9FFF:
            try:
                score += 2 if ch.encode("cp932")[0] < 0x98 else 0
            except UnicodeError:
                score -= 1
        elif 0xFF61 <= cp <= 0xFF9F or 0xE000 <= cp <= 0xF8FF or cp == 0xFFFD or 0x80 <= cp <= 0x9F:
            score -= 3
    return score


def _guess(data: bytes, lenient: str | None = None) -> str:
    """Decode bytes of unknown charset: the most plausible strict decoding wins.

    `lenient` is the codec to fall back on (with replacement characters) when nothing decodes
    cleanly; a declared charset that is merely damaged is still the best bet.
    """
    if b"\x1b" in data and _ESC_SEQ.search(data):
        # JIS escapes decide it, even with stray 8-bit bytes (JIS8 kana, pasted Shift_JIS).
        return iso2022_to_text(data)
    text = _valid_utf8_text(data)
    if text is not None:
        return text
    candidates: list[str] = []
    for decoder in (
        lambda d: strict(d, "cp932"),
        euc_to_text,
        lambda d: strict(d, "euc_jp"),
        lambda d: strict(d, "euc_jis_2004"),
    ):
        try:
            got = decoder(data)
        except Exception:
            got = None
        if got is not None:
            candidates.append(got)
    if candidates:
        # max() keeps the first of equal scores, so cp932 wins ties.
        return max(candidates, key=_score)
    if lenient:
        return data.decode(lenient, "replace")
    tries = [data.decode("cp932", "replace"), data.decode("utf-8", "replace")]
    best = max(tries, key=_score)
    return best if best.count("\ufffd") * 4 < max(len(best), 1) else data.decode("latin-1")


def _decode(data: bytes, charset: str | None) -> str:
    name = norm_charset(charset)
    if name in _SJIS:
        text = strict(data, "cp932")
        utf = _looks_utf8(data, text)
        if utf is not None:
            return utf
        return text if text is not None else _guess(data, "cp932")
    if name in _ISO2022:
        if not data.isascii():
            # ISO-2022-JP is 7-bit; 8-bit bytes mean Shift_JIS/UTF-8 under the wrong label.
            return _guess(data, "cp932")
        text = iso2022_to_text(data)
        return text if "\ufffd" not in text else _guess(data, None)
    if name in _EUC:
        euc = euc_to_text(data)
        if euc is None:
            euc = strict(data, "euc_jp") or strict(data, "euc_jis_2004")
        utf = _looks_utf8(data, euc)
        if utf is not None:
            return utf
        return euc if euc is not None else _guess(data, "euc_jp")
    if not name or name in _UTF8 or name in ("unknown-8bit", "x-unknown", "unknown", "8bit", "binary"):
        return _guess(data)
    if name in _WESTERN:
        utf = _valid_utf8_text(data)
        if utf is not None:
            return utf
        guessed = _guess(data)
        declared = strict(data, name) or data.decode("latin-1")
        return guessed if _score(guessed) > max(_score(declared), 2) else declared
    text = strict(data, name)
    if text is not None:
        return text
    return _guess(data)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode `data` declared as `charset`, falling back to guessing when the label is wrong."""
    try:
        return _decode(bytes(data), charset)
    except Exception:
        try:
            return bytes(data).decode("utf-8", "replace")
        except Exception:
            return ""
