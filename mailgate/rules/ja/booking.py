"""The booking's own fields: its reservation number, menu, duration and staff."""

from __future__ import annotations

import re
from datetime import timedelta

from mailgate.rules.ja.values import SPACES, FieldError, nfkc, nonempty, quote

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def reservation_id(lines: list[str]) -> str:
    """ "87246923", "BE64275292", "11Q3XETM2": NFKC, spaces removed; letters, digits, - and _ only."""
    first = next(iter(nonempty(lines)), "")
    text = SPACES.sub("", nfkc(first))
    if not _ID.fullmatch(text):
        raise FieldError(f"no reservation number in {quote(lines)}")
    return text


# ----------------------------------------------------------------------------------------- duration

_DURATION = re.compile(
    r"(?:(?P<h>[0-9]{1,2}(?:\.[0-9]{1,2})?)\s*時間(?:\s*(?P<m>[0-9]{1,3})\s*分間?|(?P<half>半))?"
    r"|(?P<mins>[0-9]{1,4})\s*(?:分間?|min(?:utes?|s)?\b))"
)
_DURATION_KEYS = re.compile(r"所要|施術時間|目安|時間目安|利用時間|コース時間")
_ONLY_DURATION = re.compile(rf"[\s(\[【「]*(?:{_DURATION.pattern})[\s)\]】」]*")


def _minutes(m: re.Match[str]) -> int:
    if m.group("mins"):
        return int(m.group("mins"))
    return round(float(m.group("h")) * 60) + int(m.group("m") or 0) + (30 if m.group("half") else 0)


def duration(lines: list[str]) -> timedelta | None:
    """ "（所要時間目安：1時間30分）" -> 90 min; "90分", "1時間", "1.5時間", "所要時間 60分"; else None.

    Only a line that names a duration (所要時間, 目安, ...) or holds nothing else counts:
    "整体 60分コース" is a menu name, not a duration.
    """
    for line in lines:
        text = nfkc(line)
        keyed = bool(_DURATION_KEYS.search(text))
        if not keyed and not _ONLY_DURATION.fullmatch(text):
            continue
        m = _DURATION.search(text)
        if m is None:
            raise FieldError(f"no duration in {quote(line)}")
        minutes = _minutes(m)
        if not 0 < minutes <= 24 * 60:
            raise FieldError(f"duration of {minutes} minutes in {quote(line)}")
        return timedelta(minutes=minutes)
    return None


# ------------------------------------------------------------------------------------ staff, menu

# One dash per repetition and a possessive loop: "(...|-+)+" backtracks exponentially on a dash run.
_NO_STAFF = re.compile(
    r"(?:(?:指名|担当者?|スタッフ|指定|希望)?(?:なし|無し|ナシ|無)|フリー|おまかせ|お任せ|指定しない|[-ー―−‐–—])++"
)


def staff(lines: list[str]) -> str | None:
    """The first line as written (NFKC, stripped); None for 指名なし, フリー, 担当者なし, "-", nothing."""
    first = next(iter(nonempty(lines)), "")
    text = nfkc(first).strip()
    bare = re.sub(r"[\s()\[\]【】「」]", "", text)
    if not bare or _NO_STAFF.fullmatch(bare):
        return None
    return text


def menu(lines: list[str]) -> str:
    """The first line, NFKC-normalized and stripped ("整体 60分コース"); 所要時間 lines are for duration()."""
    for line in nonempty(lines):
        if not _DURATION_KEYS.search(nfkc(line)):
            return nfkc(line).strip()
    raise FieldError(f"no menu in {quote(lines)}")
