"""The prefixes mail clients put on a forwarded or answered subject, in English, Japanese and other
clients' languages, as many as were stacked: "Fwd: Fwd:", "FW: RE:", "転送：", "[転送]", "Fw[2]:"."""

from __future__ import annotations

import re
import unicodedata

# Fwd/Fw/FW (forward), Re, TR (fr), WG/AW (de), RV (es), VS/SV (nordic), Doorst/Antw (nl), 転送, 返信.
_WORDS = r"(?:fwd?|re|tr|wg|aw|rv|vs|sv|doorst|antw|転送|返信|ﾃﾝｿｳ)"
_PREFIX = re.compile(
    rf"\s*(?:{_WORDS}\s*(?:\[\d{{1,3}}\]|\(\d{{1,3}}\)|\^\d{{1,3}})?\s*:"
    r"|[\[(【〔]\s*(?:転送|fwd?|fw)\s*[\])】〕])\s*",
    re.IGNORECASE,
)
MAX_PREFIXES = 20


def _one_to_one_nfkc(text: str) -> str:
    """NFKC where it maps a character to one character (Ｆｗｄ：→ Fwd:), so positions stay the same."""
    out = []
    for ch in text:
        mapped = unicodedata.normalize("NFKC", ch)
        out.append(mapped if len(mapped) == 1 else ch)
    return "".join(out)


def strip_forward_prefixes(subject: str) -> str:
    """The subject without the forward and reply prefixes in front of it."""
    folded = _one_to_one_nfkc(subject)
    pos = 0
    for _ in range(MAX_PREFIXES):
        m = _PREFIX.match(folded, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
    return subject[pos:].strip()
