"""Make text fit ISO-2022-JP, the charset Japanese feature-phone carriers require.

ISO-2022-JP (RFC 1468) only has ASCII and JIS X 0208. Everything else (NEC special
characters such as ① or ㈱, IBM extensions, half-width katakana, emoji, accented Latin)
is replaced by a readable equivalent, or by 〓 (geta), the Japanese convention for a
character that cannot be shown.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from mailgate.mail.addresses import domain_of

_CODEC = "iso2022_jp"
GETA = "〓"

# Characters whose NFKC form is encodable but wrong for Japanese readers (～ would become
# ASCII "~"), or that have no NFKC form at all. Values must themselves be encodable.
_TABLE: dict[str, str] = {
    "\uff5e": "\u301c",  # FULLWIDTH TILDE → WAVE DASH (cp932 vs JIS mapping of 1-1-33)
    "\uff0d": "\u2212",  # FULLWIDTH HYPHEN-MINUS → MINUS SIGN (JIS 1-1-61)
    "\uffe2": "\u00ac",  # FULLWIDTH NOT SIGN → NOT SIGN
    "\u2225": "\u2016",  # PARALLEL TO → DOUBLE VERTICAL LINE (JIS 1-1-34)
    "\u2014": "\u2015",  # EM DASH → HORIZONTAL BAR (JIS 1-1-29)
    "\u2013": "-",  # EN DASH
    "\u2012": "-",  # FIGURE DASH
    "\uffe4": "\uff5c",  # FULLWIDTH BROKEN BAR → FULLWIDTH VERTICAL LINE
    # JIS X 0201 Roman needs ESC ( J, which some handsets mis-render: use the JIS X 0208 forms.
    "\u00a5": "\uffe5",  # YEN SIGN → FULLWIDTH YEN SIGN
    "\u203e": "\uffe3",  # OVERLINE → FULLWIDTH MACRON
    # Voiced sound marks left alone (no base to compose with) → the spacing JIS forms.
    "\uff9e": "\u309b",
    "\uff9f": "\u309c",
    "\u3099": "\u309b",
    "\u309a": "\u309c",
}

# Kanji of names that JIS X 0208 lacks (IBM extensions, JIS X 0213), with the standard form a shop may
# allow in their place ([mail] jis_kanji_substitutes): many a form writes 髙橋 as 高橋 anyway. Without
# that permission such a mail goes in UTF-8 (compose), never with a geta for the customer's name.
KANJI_SUBSTITUTES: dict[str, str] = {
    "\u9ad9": "\u9ad8",  # 髙 → 高
    "\ufa11": "\u5d0e",  # 﨑 → 崎
    "\U00020bb7": "\u5409",  # 𠮷 → 吉
    "\u5fb7": "\u5fb3",  # 德 → 徳
    "\u6801": "\u67f3",  # 栁 → 柳
    "\u7028": "\u702c",  # 瀨 → 瀬
    "\u6ff5": "\u6ff1",  # 濵 → 濱
    "\u9ed1": "\u9ed2",  # 黑 → 黒
    "\u69d7": "\u6a4b",  # 槗 → 橋
    "\u66fb": "\u6607",  # 曻 → 昇
    "\ufa14": "\u6b05",  # 﨔 → 欅
    "\u589e": "\u5897",  # 增 → 増
    "\u6df8": "\u6e05",  # 淸 → 清
    "\U0002123d": "\u571f",  # 𡈽 → 土
    "\u5721": "\u571f",  # 圡 → 土
}
_SUBSTITUTES = str.maketrans(KANJI_SUBSTITUTES)

# Never kept even though the codec accepts them: ESC/SO/SI would switch the decoder's
# state, and other controls have no place in mail text.
_KEPT_CONTROLS = frozenset("\t\n\r")

_ZWJ = "\u200d"


def _encodable(text: str) -> bool:
    """True when text survives an ISO-2022-JP round trip unchanged and has no stray controls."""
    for ch in text:
        if ch in _TABLE:
            return False
        if unicodedata.category(ch) == "Cc" and ch not in _KEPT_CONTROLS:
            return False
    try:
        return text.encode(_CODEC).decode(_CODEC) == text
    except (UnicodeError, LookupError):
        return False


def _is_halfwidth_kana(ch: str) -> bool:
    return "\uff61" <= ch <= "\uff9f"


def _is_regional_indicator(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _is_extender(ch: str) -> bool:
    """Code points that belong to the preceding character (one visible glyph)."""
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")  # combining marks, variation selectors, keycap
        or "\U0001f3fb" <= ch <= "\U0001f3ff"  # emoji skin-tone modifiers
        or "\U000e0020" <= ch <= "\U000e007f"  # emoji tag sequences (subdivision flags)
    )


def _clusters(text: str) -> Iterable[str]:
    """Split text into approximate grapheme clusters, enough to replace an emoji by one geta."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if _is_halfwidth_kana(text[i]):
            # ｶﾞ must be normalized together to become ガ.
            while j < n and text[j] in "\uff9e\uff9f":
                j += 1
        elif _is_regional_indicator(text[i]) and j < n and _is_regional_indicator(text[j]):
            j += 1  # a flag is a pair of regional indicators
        while j < n:
            if _is_extender(text[j]):
                j += 1
            elif (
                text[j] == _ZWJ and j + 1 < n and not _encodable(text[j - 1]) and not _encodable(text[j + 1])
            ):
                j += 2  # emoji ZWJ sequence (👨‍👩‍👧): one glyph
            else:
                break
        yield text[i:j]
        i = j


def _replace_char(ch: str) -> str:
    if _encodable(ch):
        return ch
    if ch in _TABLE:
        return _TABLE[ch]
    if unicodedata.category(ch) in ("Cc", "Cf") or _is_extender(ch):
        return ""  # invisible: controls, ZWJ/ZWSP/BOM, stray marks and selectors
    nfkc = unicodedata.normalize("NFKC", ch)
    if nfkc and nfkc != ch and _encodable(nfkc):
        # ① → (1): NFKC alone would turn "①②" into "12".
        if unicodedata.name(ch, "").startswith("CIRCLED "):
            return f"({nfkc})"
        return nfkc
    # Accented Latin: é → e is more readable than a geta.
    stripped = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if stripped and _encodable(stripped):
        return stripped
    return GETA


def _replace_cluster(cluster: str) -> str:
    for form in ("NFC", "NFKC"):
        composed = unicodedata.normalize(form, cluster)
        if _encodable(composed):
            return composed
    if _is_halfwidth_kana(cluster[0]):
        return "".join(_replace_char(c) for c in cluster)
    # The extenders only decorate the base character: drop them.
    return _replace_char(cluster[0])


def jis_safe(text: str) -> str:
    """Return text with every character encodable in ISO-2022-JP; idempotent, never raises."""
    if _encodable(text):
        return text
    out: list[str] = []
    for cluster in _clusters(text):
        if len(cluster) == 1:
            out.append(_replace_char(cluster))
        elif _encodable(cluster):
            out.append(cluster)
        else:
            out.append(_replace_cluster(cluster))
    return "".join(out)


def substitute_kanji(text: str) -> str:
    """text with the variant kanji of KANJI_SUBSTITUTES in their standard forms."""
    return text.translate(_SUBSTITUTES)


def jis_loses(text: str) -> bool:
    """True when jis_safe would lose what a reader needs: a character only a geta can stand for (髙,
    﨑, an emoji) or a letter's accent (é). Characters with a JIS equivalent (①→(1), ㈱→(株), ｶ→カ)
    and invisible ones lose nothing."""
    if _encodable(text):
        return False
    for ch in unicodedata.normalize("NFC", text):  # decomposed kana and accents as one character
        if _encodable(ch) or ch in _TABLE or unicodedata.category(ch) in ("Cc", "Cf") or _is_extender(ch):
            continue
        nfkc = unicodedata.normalize("NFKC", ch)
        if nfkc == ch or not _encodable(nfkc):
            return True
    return False


def needs_jis(addr: str, carrier_domains: Iterable[str]) -> bool:
    """True when addr's domain is a carrier domain or one of its subdomains (case-insensitive)."""
    if "@" not in addr:
        return False
    domain = domain_of(addr)
    if not domain:
        return False
    for carrier in carrier_domains:
        # Accept "docomo.ne.jp", "@docomo.ne.jp", ".docomo.ne.jp" and "*.docomo.ne.jp" alike.
        c = carrier.strip().lower().lstrip("*").lstrip("@.").rstrip(".")
        if c and (domain == c or domain.endswith("." + c)):
            return True
    return False
