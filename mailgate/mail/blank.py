"""Recognise 空メール: the empty mail a customer sends from a phone to sign up.

Feature phones and mailers add signatures, carrier footers and emoji to an "empty" mail, and people
type a word or two (登録, よろしく), so blankness is judged on what is left after removing those.
"""

from __future__ import annotations

import re
import unicodedata

# Every pattern here is linear in the line: possessive runs, and no ".*" between two searches (a
# 48,000-dash line once took 80 s in `^-{2,}.*phrase.*$`).
# Separator lines: "--", "-- ", "__", and runs of 3+ of the usual rule characters.
_SIGNATURE = re.compile(r"^(?:--|__|[-－ー_=＝*＊―─━~〜～]{3,}+)\s*+$")
# A forwarded original below: a line starting with a rule and naming it anywhere after.
_RULE_START = re.compile(r"[-=_ー－]{2}")
_FORWARD_PHRASE = re.compile(
    r"original message|forwarded message|元のメッセージ|転送メッセージ", re.IGNORECASE
)
_QUOTED = re.compile(r"^[ \t\u3000]*[>＞]")
_REPLY_INTRO = re.compile(r"(?:\bwrote:|書きました[:：]?|のメッセージ[:：])\s*+$", re.IGNORECASE)
# Footers that phones and mail apps add on their own; checked on NFKC, case-folded lines.
_FOOTERS = (
    re.compile(r"^sent (?:from|with|via) .{0,40}$"),
    re.compile(r"^get outlook for .{0,30}$"),
    re.compile(r"^.{0,30}(?:から|より)(?:の)?送信(?:しました|しています|されました)?[。.!]?$"),
    re.compile(
        r"^(?:docomo|au|softbank|ソフトバンク|ドコモ|y!mobile|ymobile|楽天モバイル)(?:メール|携帯|mail)?$"
    ),
)
_SPACE = re.compile(r"\s+")
# A blank mail is short: what a 9 MB letter says after its first page does not make it blank or not.
MAX_EXAMINED = 10_000


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return (
        0xE000 <= cp <= 0xF8FF  # Private Use Area: carrier emoji from Shift_JIS/JIS
        or cp >= 0xF0000  # supplementary private use planes
        or 0x1F000 <= cp <= 0x1FAFF  # emoji, pictographs, flags
        or 0x2600 <= cp <= 0x27BF  # misc symbols, dingbats
        or 0x2300 <= cp <= 0x23FF  # clocks, hourglass
        or 0x2B00 <= cp <= 0x2BFF  # stars, arrows
        or 0xE0000 <= cp <= 0xE007F  # emoji tag sequences
        or cp in (0x200D, 0xFE0E, 0xFE0F, 0x20E3, 0xFFFD, 0x3030, 0x303D, 0x3297, 0x3299)
    )


def _is_forward_mark(line: str) -> bool:
    return bool(_RULE_START.match(line) and _FORWARD_PHRASE.search(line))


def _is_footer(line: str) -> bool:
    folded = unicodedata.normalize("NFKC", line).casefold().strip()
    folded = _SPACE.sub(" ", folded)
    squeezed = folded.replace(" ", "")
    return any(p.match(folded) or p.match(squeezed) for p in _FOOTERS)


def meaningful_text(text: str) -> str:
    """What the sender actually wrote: no quotes, signature, phone footers, emoji or extra spaces (of
    the first MAX_EXAMINED characters)."""
    kept: list[str] = []
    text = text[:MAX_EXAMINED]
    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = "".join(ch for ch in raw_line if not _is_emoji(ch))
        stripped = line.strip()
        if _SIGNATURE.match(stripped) or _is_forward_mark(stripped):
            break  # everything below a separator is signature or the quoted original
        if not stripped or _QUOTED.match(line) or _REPLY_INTRO.search(stripped) or _is_footer(stripped):
            continue
        kept.append(_SPACE.sub(" ", stripped))
    return "\n".join(kept).strip()


def is_blank(text: str, limit: int = 30) -> bool:
    """A 空メール: at most `limit` characters of meaningful text remain."""
    return len(meaningful_text(text)) <= limit
