"""What a customer writes to the booking address: a number (the answer to a list), キャンセル, or a
request — a day (12/5, 12月5日, 5日, 明日, 来週火曜), a part of the day (午前, 午後, 夕方, 15時以降), a menu
and a staff member by the names the shop gave them, in any mix of full- and half-width.

Pure: the shop's names and today's date come in, no clock, no I/O. Only the first lines of a mail are
read (MAX_CHARS), every pattern is linear (no nested or adjacent unbounded repetition), and names are
found with plain substring tests, so no mail makes reading slow.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from mailgate.mail.blank import meaningful_text
from mailgate.mail.subjects import strip_forward_prefixes
from mailgate.times import name_key

MAX_CHARS = 300  # of the customer's own words: a request is a line or two
MAX_LINES = 6

_SPACES = re.compile(r"[\s\u3000]+")
_NUMBER = re.compile(r"(?:no\.?|#|番号)? ?([1-9]) ?(?:番目?)?(?![0-9/:月日時]|[.\-][0-9])", re.IGNORECASE)
# キャンセル待ち asks for a waitlist, not to cancel: a request.
_CANCEL = re.compile(r"キャンセル(?!待ち|まち)|取り?消し?|cancel", re.IGNORECASE)
# 「待つ」 (or キャンセル待ち) in reply to 「ちょうど埋まりました」: wait for that time.
_WAIT = re.compile(r"キャンセル ?(?:待|ま)ち|^(?:待|ま)(?:つ|ちます)")

# A date's weekday as people add it: 12/5(土), 12月5日（土曜）. Read as part of the date.
_DOW = r"(?: ?\( ?[月火水木金土日] ?(?:曜日?)? ?\))?"
_YMD = re.compile(
    r"(?<![0-9])(20[0-9]{2}) ?[年/.\-] ?([0-9]{1,2}) ?[月/.\-] ?([0-9]{1,2})(?![0-9]) ?日?" + _DOW
)
_MD = re.compile(r"(?<![0-9/.])([0-9]{1,2}) ?(?:月 ?([0-9]{1,2}) ?日?|/ ?([0-9]{1,2})(?![0-9/]))" + _DOW)
_DAY = re.compile(r"(?<![0-9/.])([0-9]{1,2}) ?日(?!間)" + _DOW)
_RELATIVE = re.compile(r"明後日|あさって|今日|本日|きょう|明日|あした|あす")
_OFFSETS = {"明後日": 2, "あさって": 2, "今日": 0, "本日": 0, "きょう": 0, "明日": 1, "あした": 1, "あす": 1}
_WEEKDAY = re.compile(r"(再来週|来週|今週|次の|今度の)?(?: ?の)? ?([月火水木金土日]) ?曜日?")
_TIME = re.compile(
    r"(午前|午後)? ?(?<![0-9/])([0-9]{1,2}) ?(?::([0-5][0-9])|時(?!間)(?: ?([0-5]?[0-9]) ?分|半)?)"
    r"(?: ?(以降|以後|から|すぎ|過ぎ|までに|まで|以前))?"
)
_PART = re.compile(r"午前中?|午後|朝|昼(?:過ぎ|すぎ|以降)?|夕方|夕刻|夜")
_PARTS: dict[str, tuple[time | None, time | None]] = {
    "午前": (None, time(12)),
    "朝": (None, time(12)),
    "午後": (time(12), None),
    "昼": (time(12), None),
    "夕方": (time(17), None),
    "夕刻": (time(17), None),
    "夜": (time(17), None),
}
# Words that ask for nothing in particular: a mail of only these asks for the earliest times.
_FILLER = re.compile(
    r"ご?予約|希望|お願い(?:します|いたします|致します)?|空き(?:状況|時間)?|教えて|ください|下さい|よろしく|"
    r"宜しく|です|ます|したい|ごろ|頃|くらい|ぐらい|さん|先生|様|指名なし|指名|どなたでも|誰でも"
)
_PARTICLES = re.compile(r"[をのはがでにとへもかやおご、。,.!?・~〜()「」\-]+")
ANYONE = re.compile(r"指名なし|どなたでも|誰でも")


@dataclass(frozen=True)
class Words:
    """The customer's own words: the first line they wrote, and all that is read."""

    first: str
    text: str
    lines: tuple[str, ...] = ()  # the lines themselves: a reply's answers follow its number


@dataclass(frozen=True)
class Request:
    day: date | None = None  # None: from today
    after: time | None = None  # the earliest start wanted (shop's time)
    before: time | None = None  # a start before this
    menu: str | None = None  # the menu's canonical name; None: none named
    menu_alternatives: tuple[str, ...] = ()  # other menus the word written could mean
    staff: str | None = None  # canonical name; None: anyone
    problems: tuple[tuple[str, str], ...] = ()  # (code, the words): no_such_date, past, unread
    said: str = ""


def own_words(body: str, subject: str, ours: str) -> Words:
    """What the customer wrote: the first lines of the body (no quotes, signature or phone footers)
    and the subject, unless it is the subject of one of our mails (`ours`, 【shop】) answered."""
    lines = [_SPACES.sub(" ", line).strip() for line in meaningful_text(body[:10_000]).split("\n")]
    lines = [line for line in lines if line][:MAX_LINES]
    topic = _SPACES.sub(" ", strip_forward_prefixes(subject[:500])).strip()
    if ours in topic:
        topic = ""
    first = lines[0] if lines else topic
    text = " ".join([topic, *lines] if topic else lines)
    return Words(nfkc(first)[:MAX_CHARS], nfkc(text)[:MAX_CHARS], tuple(nfkc(x)[:MAX_CHARS] for x in lines))


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def reply_number(words: Words) -> int | None:
    """The number of a list's line: "3", "３番", "3でお願いします"; not a day or a time (3日, 3時)."""
    m = _NUMBER.match(nfkc(words.first))
    return int(m.group(1)) if m else None


def wants_cancel(words: Words) -> bool:
    return _CANCEL.search(words.text) is not None


def wants_wait(words: Words) -> bool:
    return _WAIT.search(words.first) is not None or "キャンセル待ち" in words.text


def read_request(
    words: Words,
    today: date,
    menus: Sequence[tuple[str, Sequence[str]]],
    staff: Mapping[str, str],
) -> Request:
    """`menus`: (name, aliases) in the shop's order; `staff`: name_key(name or alias) -> name."""
    text = words.text
    problems: list[tuple[str, str]] = []
    spans: list[tuple[int, int]] = []
    day = _read_day(text, today, problems, spans)
    after, before = _read_window(text, spans)
    rest = _without(text, spans)
    who = _staff(rest, staff)
    if who is not None:
        rest = rest.replace(who[1], " ")
    rest = ANYONE.sub(" ", rest)
    menu, alternatives, rest = _menu(rest, menus)
    unread = [w for w in rest.split() if _PARTICLES.sub("", _FILLER.sub("", w))]
    if unread:
        problems.append(("unread", " ".join(unread)[:40]))
    return Request(
        day=day,
        after=after,
        before=before,
        menu=menu,
        menu_alternatives=alternatives,
        staff=who[0] if who else None,
        problems=tuple(problems),
        said=text,
    )


def _read_day(
    text: str, today: date, problems: list[tuple[str, str]], spans: list[tuple[int, int]]
) -> date | None:
    """The first day written, in any of the forms; past days and impossible dates are problems."""
    found: list[tuple[int, int, date | None, str]] = []  # (start, end, day, problem)
    for m in _YMD.finditer(text):
        found.append((m.start(), m.end(), *_checked(int(m[1]), int(m[2]), int(m[3]), today)))
    for m in _MD.finditer(text):
        if not any(s <= m.start() < e for s, e, *_ in found):
            month, dom = int(m[1]), int(m[2] or m[3])
            found.append((m.start(), m.end(), *_month_day(month, dom, today)))
    for m in _DAY.finditer(text):
        if not any(s <= m.start() < e for s, e, *_ in found):
            found.append((m.start(), m.end(), *_day_of_month(int(m[1]), today)))
    for m in _RELATIVE.finditer(text):
        found.append((m.start(), m.end(), today + timedelta(days=_OFFSETS[m[0]]), ""))
    for m in _WEEKDAY.finditer(text):
        found.append((m.start(), m.end(), *_weekday(m[1] or "", "月火水木金土日".index(m[2]), today)))
    if not found:
        return None
    found.sort(key=lambda f: f[0])
    spans.extend((s, e) for s, e, *_ in found)
    start, end, day, problem = found[0]
    if problem:
        problems.append((problem, text[start:end].strip()))
    return day


def _checked(year: int, month: int, dom: int, today: date) -> tuple[date | None, str]:
    try:
        day = date(year, month, dom)
    except ValueError:
        return None, "no_such_date"
    return (None, "past") if day < today else (day, "")


def _month_day(month: int, dom: int, today: date) -> tuple[date | None, str]:
    """This year's, unless it is past by more than a month: then next year's (12月 asking for 1/5)."""
    for year in (today.year, today.year + 1):
        try:
            day = date(year, month, dom)
        except ValueError:
            continue
        if day >= today:
            return day, ""
        if (today - day).days <= 31:
            return None, "past"
    return None, "no_such_date"


def _day_of_month(dom: int, today: date) -> tuple[date | None, str]:
    """ "5日": this month's, or next month's when this month's is past."""
    month_start = today.replace(day=1)
    for months in (0, 1):
        first = (month_start + timedelta(days=32 * months)).replace(day=1)
        try:
            day = first.replace(day=dom)
        except ValueError:
            return None, "no_such_date"
        if day >= today:
            return day, ""
    return None, "no_such_date"


def _weekday(which: str, weekday: int, today: date) -> tuple[date | None, str]:
    monday = today - timedelta(days=today.weekday())
    if which in ("来週", "再来週"):
        return monday + timedelta(days=(7 if which == "来週" else 14) + weekday), ""
    if which == "今週":
        day = monday + timedelta(days=weekday)
        return (None, "past") if day < today else (day, "")
    return today + timedelta(days=(weekday - today.weekday()) % 7), ""


def _read_window(text: str, spans: list[tuple[int, int]]) -> tuple[time | None, time | None]:
    """The earliest and latest start wanted: 午前, 午後, 夕方, 15時以降, 午後3時, 14:30まで."""
    after: time | None = None
    before: time | None = None
    for m in _TIME.finditer(text):
        if any(s <= m.start() < e for s, e in spans):
            continue
        hour = int(m[2]) + (12 if m[1] == "午後" and int(m[2]) < 12 else 0)
        minute = int(m[3] or m[4] or 0) + (30 if m[0].find("半") >= 0 else 0)
        if hour > 23 or minute > 59:
            continue
        # 午後 before a 24-hour time (午後 16時まで) is a part of the day of its own, read below.
        spans.append((m.start(2) if m[1] and int(m[2]) > 12 else m.start(), m.end()))
        if m[5] in ("まで", "までに", "以前"):
            before = time(hour, minute)
        else:
            after = time(hour, minute)
    for m in _PART.finditer(text):
        if any(s <= m.start() < e for s, e in spans):
            continue
        spans.append((m.start(), m.end()))
        lo, hi = _PARTS[m[0][:2] if m[0][:2] in _PARTS else m[0][:1]]
        after = max(after, lo) if after and lo else after or lo
        before = min(before, hi) if before and hi else before or hi
    return after, before


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for s, e in sorted(spans):
        if s >= pos:
            out.append(text[pos:s])
            pos = e
    out.append(text[pos:])
    return " ".join(out)


def _staff(text: str, staff: Mapping[str, str]) -> tuple[str, str] | None:
    """(canonical name, the words as written) for the longest staff name or alias in the text."""
    key = name_key(text)
    hits = [(len(k), k) for k in staff if k and k in key]
    if not hits:
        return None
    _, k = max(hits)
    written = next((w for w in text.split() if k in name_key(w)), k)
    return staff[k], written


def _menu(text: str, menus: Sequence[tuple[str, Sequence[str]]]) -> tuple[str | None, tuple[str, ...], str]:
    """The menu named (the longest name or alias in the text), else the menus a word begins or is part
    of ("整体" of 整体 60分コース and 整体 90分コース: the first, the others as alternatives)."""
    key = name_key(text)
    whole = [
        (len(k), -i, name, written)
        for i, (name, aliases) in enumerate(menus)
        for written in (name, *aliases)
        if (k := name_key(written)) and k in key
    ]
    if whole:
        _, _, name, written = max(whole)
        return name, (), _drop(text, written)
    for word in text.split():
        w = name_key(word)
        if len(w) < 2:
            continue
        named = [
            name
            for name, aliases in menus
            if any(w in (k := name_key(n)) or _common_prefix(w, k) >= 2 for n in (name, *aliases))
        ]
        if named:
            return named[0], tuple(named[1:]), text.replace(word, " ", 1)
    return None, (), text


def _drop(text: str, written: str) -> str:
    """The text without the words that named a menu, however they were spaced."""
    target = name_key(written)
    words = text.split()
    for i in range(len(words)):
        joined = ""
        for j in range(i, len(words)):
            joined += name_key(words[j])
            if target in joined:
                return " ".join(words[:i] + words[j + 1 :])
            if len(joined) > len(target) + 40:
                break
    return text


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
