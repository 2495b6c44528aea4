"""Decode Japanese mail text: bodies and RFC 2047 headers.

Japanese mail still arrives in ISO-2022-JP, Shift_JIS and EUC-JP, often labelled wrongly, and written
on Windows or feature phones whose character sets are supersets of the standards (NEC row 13 such as
① and ㈱, IBM kanji such as 髙, carrier emoji in the user-defined area). Python's strict codecs lose
those, so everything here goes through cp932 where possible. Nothing in this module raises.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.header import Header

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


def _norm_charset(charset: str | None) -> str:
    if not charset:
        return ""
    name = str(charset).strip().strip("\"'").strip().lower().replace("_", "-")
    # RFC 2231 language suffix: charset*lang
    return name.split("*", 1)[0]


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except Exception:  # LookupError, UnicodeError and codec-specific oddities alike
        return None


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    """JIS X 0208 code point (row byte, cell byte) to its Shift_JIS bytes."""
    s1 = ((j1 - 0x21) >> 1) + 0x81
    if s1 > 0x9F:
        s1 += 0x40
    if j1 & 1:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:
            s2 += 1
    else:
        s2 = j2 + 0x7E
    # Rows 0x75-0x78 and 0x7D-0x7E land on lead bytes cp932 leaves unassigned; CP5022x puts the
    # user-defined area (carrier emoji) there, which cp932 has at F0-F4, so move them along.
    if s1 in (0xEB, 0xEC, 0xEF):
        s1 += 5
    return bytes((s1, s2))


def _iso2022_to_text(data: bytes) -> str:
    """Decode ISO-2022-JP and its Microsoft/carrier variants through cp932.

    Python's iso2022_jp rejects NEC row 13 (①, ㈱), IBM kanji (髙) and emoji; mapping each JIS pair to
    Shift_JIS arithmetically keeps them. Segments in JIS X 0212/0213 go to Python's codecs instead.
    """
    out: list[str] = []
    buf = bytearray()
    mode = "ascii"  # ascii | roman | jis0208 | kana | foreign
    foreign_esc = b""
    foreign_buf = bytearray()
    shifted = False  # SO/SI half-width katakana (CP50222)

    def flush() -> None:
        if buf:
            out.append(bytes(buf).decode("cp932", "replace"))
            buf.clear()
        if foreign_buf:
            codec = (
                "iso2022_jp_2004" if foreign_esc in (b"\x1b$(O", b"\x1b$(Q", b"\x1b$(P") else "iso2022_jp_2"
            )
            out.append((foreign_esc + bytes(foreign_buf) + b"\x1b(B").decode(codec, "replace"))
            foreign_buf.clear()

    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == 0x1B:
            seq3 = data[i : i + 3]
            seq4 = data[i : i + 4]
            if data[i : i + 6] == b"\x1b&@\x1b$B":
                # JIS X 0208-1990 announcer followed by its designation: one switch.
                flush()
                mode = "jis0208"
                i += 6
                continue
            if seq3 in (b"\x1b$@", b"\x1b$B"):
                flush()
                mode = "jis0208"
                i += 3
                continue
            if seq3 in (b"\x1b(B", b"\x1b(J"):
                flush()
                mode = "roman" if seq3 == b"\x1b(J" else "ascii"
                i += 3
                continue
            if seq3 == b"\x1b(I":
                flush()
                mode = "kana"
                i += 3
                continue
            if seq4 in (b"\x1b$(D", b"\x1b$(O", b"\x1b$(Q", b"\x1b$(P", b"\x1b$(C") or seq3 in (b"\x1b$A",):
                flush()
                mode = "foreign"
                foreign_esc = seq4 if seq4.startswith(b"\x1b$(") else seq3
                i += len(foreign_esc)
                continue
            if seq4 == b"\x1b$(B" or seq4 == b"\x1b$(@":
                flush()
                mode = "jis0208"
                i += 4
                continue
            # Unknown escape: drop the ESC, keep the rest readable.
            i += 1
            continue
        if b == 0x0E:
            shifted = True
            i += 1
            continue
        if b == 0x0F:
            shifted = False
            i += 1
            continue
        if mode == "foreign":
            if b in (0x0A, 0x0D):
                flush()
                mode = "ascii"
                buf.append(b)
            else:
                foreign_buf.append(b)
            i += 1
            continue
        if mode == "jis0208" and 0x21 <= b <= 0x7E:
            if i + 1 < n and 0x21 <= data[i + 1] <= 0x7E:
                buf += _jis_to_sjis(b, data[i + 1])
                i += 2
            else:
                flush()
                out.append("\ufffd")
                i += 1
            continue
        if mode == "roman" and b == 0x5C:
            # JIS X 0201 Roman has the yen sign here (prices!); its 0x7E stays "~" as people read it.
            flush()
            out.append("¥")
            i += 1
            continue
        if (mode == "kana" or shifted) and 0x21 <= b <= 0x5F:
            buf.append(b + 0x80)
            i += 1
            continue
        # ASCII, controls inside a two-byte run (broken encoders), or 8-bit JIS8 kana: cp932 copes.
        buf.append(b)
        i += 1
    flush()
    return "".join(out)


def _euc_to_text(data: bytes) -> str | None:
    """cp51932-like EUC-JP: JIS pairs through cp932 so NEC row 13 and IBM kanji survive."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.append(b)
            i += 1
        elif b == 0x8E and i + 1 < n and 0xA1 <= data[i + 1] <= 0xDF:
            out.append(data[i + 1])
            i += 2
        elif 0xA1 <= b <= 0xFE and i + 1 < n and 0xA1 <= data[i + 1] <= 0xFE:
            out += _jis_to_sjis(b - 0x80, data[i + 1] - 0x80)
            i += 2
        else:
            return None  # JIS X 0212 (0x8F) or invalid: leave it to Python's codecs
    return _strict(bytes(out), "cp932")


def _valid_utf8_text(data: bytes) -> str | None:
    if data.startswith(_BOM):
        data = data[3:]
    return _strict(data, "utf-8")


def _looks_utf8(data: bytes, legacy: str | None) -> str | None:
    """UTF-8 text under a legacy Japanese label; `legacy` is the strict decoding by that label.

    Real Shift_JIS/EUC-JP text is rarely valid UTF-8 once it has two or more non-ASCII characters,
    while cp932 happily 'decodes' UTF-8 bytes into mojibake, so valid UTF-8 wins unless the legacy
    reading looks more like Japanese.
    """
    if not any(c >= 0x80 for c in data):
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
        return _iso2022_to_text(data)
    text = _valid_utf8_text(data)
    if text is not None:
        return text
    candidates: list[str] = []
    for decoder in (
        lambda d: _strict(d, "cp932"),
        _euc_to_text,
        lambda d: _strict(d, "euc_jp"),
        lambda d: _strict(d, "euc_jis_2004"),
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
    name = _norm_charset(charset)
    if name in _SJIS:
        text = _strict(data, "cp932")
        utf = _looks_utf8(data, text)
        if utf is not None:
            return utf
        return text if text is not None else _guess(data, "cp932")
    if name in _ISO2022:
        if any(c >= 0x80 for c in data):
            # ISO-2022-JP is 7-bit; 8-bit bytes mean Shift_JIS/UTF-8 under the wrong label.
            return _guess(data, "cp932")
        text = _iso2022_to_text(data)
        return text if "\ufffd" not in text else _guess(data, None)
    if name in _EUC:
        euc = _euc_to_text(data)
        if euc is None:
            euc = _strict(data, "euc_jp") or _strict(data, "euc_jis_2004")
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
        declared = _strict(data, name) or data.decode("latin-1")
        return guessed if _score(guessed) > max(_score(declared), 2) else declared
    text = _strict(data, name)
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


# --- headers -------------------------------------------------------------------------------------

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
        charset = _norm_charset(match.group(1))
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
