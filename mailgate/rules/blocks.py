"""Cut vendor notices into sections and label -> value lines; pure functions, no vendor names.

Three layouts are read the same way (label on an unindented line, value inline after a colon and/or on
the indented lines below it):

    ◆予約日時:                   ■来店日時                  ■予約番号：11Q3XETM2
      2026年12月03日 13:00~       　2026年12月02日 10:00

Values are returned as written (only the indentation stripped): the parsers in ja.py normalize them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

_WS = re.compile(r"[\s\u3000]+")
_INDENT = " \t\u3000\u00a0"
# Bullets vendors put before labels. "-" and "*" are left out: they start values and list items too.
_BULLETS = "◆◇■□●○◎◉▼▽▲△▶▷►▸◀◁★☆※・･"
_BULLET_RE = re.compile(f"[{_BULLETS}]")
# Brackets around a whole label: 【予約番号】, [予約番号], 〈予約番号〉 (after NFKC).
_BRACKETED = re.compile(r"^(?:【([^】]*)】|\[([^\]]*)\]|〈([^〉]*)〉|《([^》]*)》|〔([^〕]*)〕)(.*)$")
_COLONS = ":：﹕"
# A label is short text; longer colon lines are prose ("※ご注意: ...").
_MAX_LABEL = 24


def _canon(text: str) -> str:
    """NFKC, no whitespace, case-folded: how markers and labels are compared."""
    return _WS.sub("", unicodedata.normalize("NFKC", text)).casefold()


def label_key(label: str) -> str:
    """The stored form of a label: NFKC, bullets, brackets, trailing colon and spaces removed."""
    text = _WS.sub("", unicodedata.normalize("NFKC", label))
    text = text.lstrip(_BULLETS + "-*>")
    m = _BRACKETED.match(text)
    if m and not m.group(6):
        text = next(g for g in m.groups()[:5] if g is not None)
    return text.rstrip(":").lstrip(_BULLETS)


def split_sections(text: str, markers: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Split a notice at section marker lines.

    markers e.g. {"after": ["[ 変更後 ]", "【変更後】"], "before": ["[ 変更前 ]", "【変更前】"]}.
    Returns {"": text before the first marker, "after": ..., "before": ...} for markers present;
    marker lines themselves are left out. Marker lines are compared NFKC and whitespace-insensitively,
    so "［変更後］" matches "[ 変更後 ]". A marker seen again appends to its section.
    """
    wanted = {_canon(m): key for key, ms in markers.items() for m in ms if _canon(m)}
    parts: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.split("\n"):
        key = wanted.get(_canon(line))
        if key is not None:
            current = key
            parts.setdefault(key, [])
            continue
        parts[current].append(line)
    return {key: "\n".join(lines) for key, lines in parts.items()}


def _split_label(line: str) -> tuple[str, str] | None:
    """(label key, inline value) when an unindented line is a label line, else None."""
    stripped = line.strip()
    if not stripped:
        return None
    nfkc = unicodedata.normalize("NFKC", stripped)
    bulleted = bool(_BULLET_RE.match(stripped)) or nfkc[:1] in tuple(_BULLETS)
    bracket = _BRACKETED.match(nfkc.lstrip(_BULLETS + " "))
    if bracket:
        # 【予約番号】87246923 or 【予約番号】: 87246923; the brackets hold the label.
        label = next(g for g in bracket.groups()[:5] if g is not None)
        value = _inline_after_bracket(stripped)
        key = label_key(label)
        return (key, value) if key and len(key) <= _MAX_LABEL else None
    colon = _first_colon(stripped)
    if colon is not None:
        head, value = stripped[:colon], stripped[colon + 1 :].strip(_INDENT + " ")
        if value.startswith("//"):  # https://... is not a label
            return None
        key = label_key(head)
        if _plausible_label(key):
            return key, value
        return None
    if bulleted:
        key = label_key(stripped)
        return (key, "") if key and len(key) <= _MAX_LABEL * 2 and "。" not in key else None
    return None


def _first_colon(line: str) -> int | None:
    for i, ch in enumerate(line):
        if ch in _COLONS:
            return i
    return None


def _inline_after_bracket(line: str) -> str:
    """What follows the closing bracket of a bracketed label, without a leading colon."""
    for close in "】]］〉》〕":
        i = line.find(close)
        if i >= 0:
            rest = line[i + 1 :].strip(_INDENT + " ")
            if rest[:1] in _COLONS:
                rest = rest[1:].strip(_INDENT + " ")
            return rest
    return ""


def _plausible_label(key: str) -> bool:
    # Labels are short words, not times ("13:00") or sentences.
    return bool(key) and len(key) <= _MAX_LABEL and not key[0].isdigit() and "。" not in key


def _indented(line: str) -> bool:
    return line[:1] in _INDENT


def labelled(text: str) -> dict[str, list[str]]:
    """Label -> value lines, for the three layouts vendors use (STORES, SALON BOARD, Airリザーブ).

    Labels are NFKC-normalized with bullets, brackets, trailing colon and inner spaces removed ("予約日時",
    "名前(姓)"). Value lines are stripped of indentation, empty lines dropped, in order. A value block ends at
    the next label line or an unindented line (blank lines inside it are skipped). A label without an inline
    value whose next line is unindented non-label text takes the lines up to the next blank line: indentation
    lost in forwarding. A heading like "◇ご予約内容" gives an empty list.
    A repeated label keeps its first value.
    """
    lines = text.split("\n")
    out: dict[str, list[str]] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        found = None if _indented(line) else _split_label(line)
        i += 1
        if found is None:
            continue
        key, inline = found
        values = [inline] if inline else []
        start = i
        while i < len(lines):
            nxt = lines[i]
            if not nxt.strip(_INDENT + " \r"):
                i += 1
                continue
            if not _indented(nxt):
                break
            values.append(nxt.strip(_INDENT + " \r"))
            i += 1
        if not values and i == start:
            # Unindented value right under its label (a mail client ate the indentation).
            while i < len(lines) and lines[i].strip() and _split_label(lines[i]) is None:
                values.append(lines[i].strip(_INDENT + " \r"))
                i += 1
        out.setdefault(key, values)
    return out


def find(values: Mapping[str, list[str]], labels: Sequence[str]) -> list[str] | None:
    """The value lines of the first of `labels` present (compared NFKC, spaces ignored); None if none."""
    by_key = {_canon(k): v for k, v in values.items()}
    for label in labels:
        for key in (_canon(label_key(label)), _canon(label)):
            if key in by_key:
                return by_key[key]
    return None


def find_all(values: Mapping[str, list[str]], labels: Sequence[str]) -> list[str] | None:
    """The value lines of every one of `labels` present, in `labels` order; None if none is present.

    For fields split over labels, e.g. Airリザーブ's "名前(姓)" + "名前(名)" -> ["田中", "太郎"].
    """
    found = [find(values, [label]) for label in labels]
    present = [v for v in found if v is not None]
    return [line for v in present for line in v] if present else None
