"""Read the fields of Japanese vendor notices: pure functions from value lines (blocks.labelled) to values.

Every reader raises FieldError (a ValueError) with a short English message when the input can't be read.
Rules name them through PARSERS, where every entry has ONE signature:

    PARSERS[name](lines: list[str], ctx: ParseContext) -> value

ParseContext carries the shop's zone and the mail's Date (for dates without a year); readers that need
neither ignore it. The plain functions below take what they need and can be called directly.

jaconv.normalize is never used here: it turns 〜 ～ － into ー, which breaks times and phone numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from mailgate import normalize


class FieldError(ValueError):
    """A field of a notice that can't be read; str(e) says what in English, quoting the input."""


@dataclass(frozen=True)
class ParseContext:
    tz: tzinfo  # the shop's zone (a ZoneInfo): results are aware datetimes in it
    reference: datetime  # the mail's Date: the year of "12月5日" is inferred from it


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _quote(lines: Sequence[str] | str) -> str:
    text = lines if isinstance(lines, str) else " ".join(line.strip() for line in lines)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _nonempty(lines: Sequence[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip()]


_SPACES = re.compile(r"[\s\u3000]+")

# ---------------------------------------------------------------------------------------------- ids


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def reservation_id(lines: list[str]) -> str:
    """ "87246923", "BE64275292", "11Q3XETM2": NFKC, spaces removed; letters, digits, - and _ only."""
    first = next(iter(_nonempty(lines)), "")
    text = _SPACES.sub("", _nfkc(first))
    if not _ID.fullmatch(text):
        raise FieldError(f"no reservation number in {_quote(lines)}")
    return text


# ---------------------------------------------------------------------------------------- date/time

# All on NFKC text: full-width digits, colons and parens are ASCII by then; 〜 (U+301C) survives NFKC.
_DATE_Y = re.compile(
    r"(?<![0-9])([0-9]{4})\s*[年/.\-]\s*([0-9]{1,2})\s*[月/.\-]\s*([0-9]{1,2})(?![0-9])\s*日?"
)
_DATE_R = re.compile(
    r"(?:令和|R)\s*([0-9]{1,2}|元)\s*[年/.]\s*([0-9]{1,2})\s*[月/.]\s*([0-9]{1,2})(?![0-9])\s*日?"
)
_DATE_MD = re.compile(r"(?<![0-9/])([0-9]{1,2})\s*(?:月\s*([0-9]{1,2})\s*日|/\s*([0-9]{1,2})(?![0-9/]))")
_WEEKDAY = re.compile(r"\s*\(\s*([^()]{1,8})\)")
_WEEKDAYS = "月火水木金土日"
_TIME = re.compile(
    r"(?P<mer>午前|午後|AM|PM|am|pm)?\s*(?<![0-9])(?P<h>[0-9]{1,2})\s*"
    r"(?::\s*(?P<m>[0-9]{2})(?::[0-9]{2})?|時(?!間)\s*(?:(?P<m2>[0-9]{1,2})\s*分|(?P<half>半))?)"
    r"(?![0-9])(?:\s*(?P<mer2>AM|PM|am|pm)\b)?"
)
# Range marks between two times; ー (long vowel) counts only here, between times.
_RANGE = re.compile(r"\s*(?:[~〜∼\-−–—‐‑―ー]|から|to)\s*")


@dataclass(frozen=True)
class _Date:
    day: date
    end: int  # index in the text just after the date (and its weekday)


def _reiwa(year: str) -> int:
    return 2018 + (1 if year == "元" else int(year))


def _make_date(y: int, m: int, d: int, text: str) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise FieldError(f"no such date {y:04d}-{m:02d}-{d:02d} in {_quote(text)}") from None


def _infer_year(month: int, day: int, reference: date, text: str) -> date:
    # The first such date not more than ~2 months before the mail:
    # a December notice about 1月5日 is about next year.
    earliest = reference - timedelta(days=62)
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= earliest:
            return candidate
    raise FieldError(f"no such date {month}月{day}日 in {_quote(text)}")


def _find_date(text: str, pos: int, reference: date, anchored: bool = False) -> _Date | None:
    """The first date at or after pos (earliest start wins; a dated form beats a year-less one).

    anchored: only a date starting at pos (after spaces), for the end of "12:00～2026/12/05 13:00".
    """
    found: list[tuple[int, int, re.Match[str]]] = []
    if anchored:
        pos += len(text[pos:]) - len(text[pos:].lstrip())
    for rank, pattern in enumerate((_DATE_Y, _DATE_R, _DATE_MD)):
        m = pattern.match(text, pos) if anchored else pattern.search(text, pos)
        if m:
            found.append((m.start(), rank, m))
    if not found:
        return None
    _, rank, m = min(found, key=lambda f: (f[0], f[1]))
    if rank == 0:
        day = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    elif rank == 1:
        day = _make_date(_reiwa(m.group(1)), int(m.group(2)), int(m.group(3)), text)
    else:
        month, dom = int(m.group(1)), int(m.group(2) or m.group(3))
        day = _infer_year(month, dom, reference, text)
    end = m.end()
    wd = _WEEKDAY.match(text, end)
    if wd:
        end = wd.end()
        mark = wd.group(1).strip()[:1]
        # A weekday that disagrees with the date means the date was misread: better to stop than book it.
        if mark in _WEEKDAYS and _WEEKDAYS[day.weekday()] != mark:
            raise FieldError(f"weekday ({mark}) does not match {day.isoformat()} in {_quote(text)}")
    return _Date(day, end)


@dataclass(frozen=True)
class _Time:
    hour: int
    minute: int
    meridiem: bool  # written with 午前/午後 (AM/PM)
    end: int


def _read_time(m: re.Match[str], text: str) -> _Time:
    hour = int(m.group("h"))
    minute = int(m.group("m") or m.group("m2") or (30 if m.group("half") else 0))
    mer = (m.group("mer") or m.group("mer2") or "").upper()
    if mer:
        if hour > 12:
            raise FieldError(f"hour {hour} after 午前/午後 in {_quote(text)}")
        # 12 with 午前/午後 is noon: a salon is not open at midnight.
        if mer in ("午後", "PM") and hour < 12:
            hour += 12
    if hour > 23 or minute > 59:
        raise FieldError(f"no such time {hour}:{minute:02d} in {_quote(text)}")
    return _Time(hour, minute, bool(mer), m.end())


def datetime_range(lines: list[str], tz: tzinfo, reference: datetime) -> tuple[datetime, datetime | None]:
    """Start and end (None when the notice gives no end) as aware datetimes in tz.

    Reads "2026年12月03日 (木) 13:00 ~ 14:00", "2026/12/05(土) 12:00～13:00", "12月5日(土) 9:00-10:30",
    "13時30分〜14時", "午後1時から3時", full-width forms too. A date without a year is the first such date not
    more than ~2 months before `reference` (the mail's Date). A weekday that contradicts the date, an end on
    another day, an end not after the start, and times like 24:00 raise FieldError.
    """
    text = _nfkc(" ".join(lines))
    ref = reference.astimezone(tz) if reference.tzinfo else reference
    found = _find_date(text, 0, ref.date())
    if found is None:
        raise FieldError(f"no date in {_quote(text)}")
    m = _TIME.search(text, found.end)
    if m is None:
        raise FieldError(f"no time range in {_quote(text)}")
    start_t = _read_time(m, text)
    start = datetime(found.day.year, found.day.month, found.day.day, start_t.hour, start_t.minute, tzinfo=tz)
    sep = _RANGE.match(text, start_t.end)
    if sep is None:
        return start, None
    pos = sep.end()
    end_day = found.day
    dated = _find_date(text, pos, ref.date(), anchored=True)
    if dated is not None:  # "12:00～2026/12/05(土) 13:00": the end may repeat the date
        end_day, pos = dated.day, dated.end
    em = _TIME.match(text, pos)
    if em is None:
        return start, None
    end_t = _read_time(em, text)
    hour = end_t.hour
    # "午後1時〜3時": the end takes the start's 午後 when read bare it would come first.
    bare = start_t.meridiem and not end_t.meridiem
    if bare and hour < 12 and (hour, end_t.minute) <= (start.hour, start.minute):
        hour += 12
    end = datetime(end_day.year, end_day.month, end_day.day, hour, end_t.minute, tzinfo=tz)
    if end_day != found.day:
        raise FieldError(f"end on another day than the start in {_quote(text)}")
    if end <= start:
        raise FieldError(f"end not after start in {_quote(text)}")
    return start, end


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
        text = _nfkc(line)
        keyed = bool(_DURATION_KEYS.search(text))
        if not keyed and not _ONLY_DURATION.fullmatch(text):
            continue
        m = _DURATION.search(text)
        if m is None:
            raise FieldError(f"no duration in {_quote(line)}")
        minutes = _minutes(m)
        if not 0 < minutes <= 24 * 60:
            raise FieldError(f"duration of {minutes} minutes in {_quote(line)}")
        return timedelta(minutes=minutes)
    return None


# ------------------------------------------------------------------------------------------- person

_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+$")
_DOMAIN_RAW = re.compile(r"[^\s<>()\[\],;:\"'、。，（）「」＜＞【】]+")
_DOMAIN = re.compile(r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_PHONE = re.compile(
    "[+(]?[0-9][0-9()\\s\\-\u2010-\u2015\u2212\u30fc\uff0d\uff70\u2043\ufe58\ufe63\u02d7\u207b\u208b"
    "\u2e3a\u2e3b\u301c\uff5e~]*[0-9]"
)
_HONORIFIC = re.compile(r"[\s\u3000]*(?:様|さま|さん|殿)$")
_CONTACT_LABEL = re.compile(
    r"^(?:TEL|Tel|tel|電話番号?|携帯(?:電話)?(?:番号)?|E-?[Mm]ail|[Mm]ail|メール(?:アドレス)?)\s*[:：]?\s*"
)
_PARENS = re.compile(r"^[(（](.*)[)）]$")
_TRAILING_PARENS = re.compile(r"^(.*?)[\s\u3000]*[(（]([^()（）]*)[)）][\s\u3000]*(?:様|さま|さん|殿)?$")
_KANA_CHARS = re.compile(r"^[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe\uff66-\uff9f\s\u3000・･]+$")


def _find_email(line: str) -> tuple[str, int, int] | None:
    """(address, start, end) of the first token with @ in line; the local part is kept exactly as written."""
    text = line.replace("＠", "@")
    for at in (i for i, ch in enumerate(text) if ch == "@"):
        local = _LOCAL.search(text, max(0, at - 64), at)  # a local part is at most 64 characters
        raw = _DOMAIN_RAW.match(text, at + 1)
        if not local or not raw:
            continue
        domain = _nfkc(raw.group()).rstrip(".")
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
    text = _nfkc(line)
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


def _kana_of(text: str) -> str | None:
    """The reading in katakana, spaces and ・ removed; None when text is not kana."""
    text = _HONORIFIC.sub("", text.strip())
    if not text or not _KANA_CHARS.match(text):
        return None
    try:
        return normalize.kana(re.sub(r"[・･]", "", text))
    except normalize.NormalizeError:
        return None


def _name_of(text: str) -> str | None:
    text = _SPACES.sub("", _nfkc(_HONORIFIC.sub("", text.strip())))
    # "〒100-0001", an address, a lone "-" or a mangled email address is not part of a name.
    if not any(ch.isalpha() for ch in text) or any(ch.isdigit() or ch == "@" for ch in text):
        return None
    try:
        return normalize.name(text)
    except normalize.NormalizeError:
        return None


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
    for line in _nonempty(lines):
        rest = line.replace("＠", "@")
        mail = _find_email(rest)
        if mail:
            parts.emails.append(mail[0])
            rest = (rest[: mail[1]] + " " + rest[mail[2] :]).strip()
        tel = _find_phone(rest)
        if tel:
            rest = _nfkc(rest)
            alone = not _CONTACT_LABEL.sub("", rest[: tel.start] + rest[tel.end :]).strip(" :,/")
            if tel.digits is None and alone:
                raise FieldError(f"not a phone number {_quote(tel.candidate)}")
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
        trailing = _TRAILING_PARENS.match(rest)
        if trailing and trailing.group(1).strip():
            rest = trailing.group(1)
            reading = _kana_of(trailing.group(2))
            if reading:
                parts.readings.append(reading)
        name_part = _name_of(rest)
        if name_part is None:
            continue
        reading = _kana_of(rest)
        if reading and kanji_name:
            parts.bare_kana.append(reading)
        else:
            parts.names.append(name_part)
            kanji_name = kanji_name or reading is None
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
        raise FieldError(f"no name, email or phone in {_quote(lines)}")
    return out


def name(lines: list[str]) -> str:
    """ "山田 太郎 様" -> "山田太郎"; lines (姓, 名) are joined; readings and contact lines left out."""
    parts = _parts(lines)
    if not parts.names:
        raise FieldError(f"no name in {_quote(lines)}")
    return "".join(parts.names)


def kana(lines: list[str]) -> str:
    """Katakana reading: "(ヤマダ タロウ)", "井戸 貴之（イド タカユキ）", or kana lines (セイ, メイ)."""
    parts = _parts(lines)
    readings = parts.readings or parts.bare_kana
    if not readings and parts.names and all(_kana_of(n) for n in parts.names):
        readings = [r for r in (_kana_of(n) for n in parts.names) if r]
    if not readings:
        raise FieldError(f"no reading in katakana in {_quote(lines)}")
    return "".join(readings)


def email(lines: list[str]) -> str:
    for line in lines:
        found = _find_email(line)
        if found:
            return found[0]
    raise FieldError(f"no email address in {_quote(lines)}")


def phone(lines: list[str]) -> str:
    """Half-width digits: "090（1234）5678", "０９０−１２３４−５６７８", "+81 90-1234-5678" -> "090..."."""
    for line in lines:
        found = _find_phone(line)
        if found is None:
            continue
        if found.digits is None:
            raise FieldError(f"not a phone number {_quote(found.candidate)}")
        return found.digits
    raise FieldError(f"no phone number in {_quote(lines)}")


# ------------------------------------------------------------------------------------ staff, menu

_NO_STAFF = re.compile(
    r"(?:(?:指名|担当者?|スタッフ|指定|希望)?(?:なし|無し|ナシ|無)|フリー|おまかせ|お任せ|指定しない|[-ー―−‐–—]+)+"
)


def staff(lines: list[str]) -> str | None:
    """The first line as written (NFKC, stripped); None for 指名なし, フリー, 担当者なし, "-", nothing."""
    first = next(iter(_nonempty(lines)), "")
    text = _nfkc(first).strip()
    bare = re.sub(r"[\s()\[\]【】「」]", "", text)
    if not bare or _NO_STAFF.fullmatch(bare):
        return None
    return text


def menu(lines: list[str]) -> str:
    """The first line, NFKC-normalized and stripped ("整体 60分コース"); 所要時間 lines are for duration()."""
    for line in _nonempty(lines):
        if not _DURATION_KEYS.search(_nfkc(line)):
            return _nfkc(line).strip()
    raise FieldError(f"no menu in {_quote(lines)}")


def text(lines: list[str]) -> str:
    """The lines joined with newlines (inquiry messages)."""
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- inquiries

_WHEN = re.compile(
    r"[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*日|[0-9]{1,2}\s*/\s*[0-9]{1,2}|(?<![0-9])[0-9]{1,2}\s*日(?!間)"
    r"|今日|本日|明日|明後日|あした|あさって|今晩|今夜|今週|来週|再来週|週末|土日|連休"
    r"|[月火水木金土日]曜|午前|午後|夕方|朝|昼|夜"
    r"|[0-9]{1,2}\s*時(?!間)|[0-9]{1,2}\s*:\s*[0-9]{2}"
)
_INTENT = re.compile(
    r"予約|空いて|空き|空いた|あいて|行きたい|行け|伺いたい|伺え|伺っても|可能|できますか|出来ますか"
    r"|大丈夫|取れ|とれ|入れ|受けたい|お願いしたい|お願いできますか|希望"
)
# Cancelling or asking about an existing booking is not a new request even with a day in it.
_CANCEL = re.compile(r"キャンセル|取り消|取消|やめ")


def inquiry_kind(message: str) -> str:
    """ "booking_request" when the customer asks for a concrete day or time, else "question"."""
    text = _nfkc(message)
    if _CANCEL.search(text):
        return "question"
    return "booking_request" if _WHEN.search(text) and _INTENT.search(text) else "question"


# ----------------------------------------------------------------------------------------- registry

Parser = Callable[[list[str], ParseContext], Any]


def _plain(fn: Callable[[list[str]], Any]) -> Parser:
    def call(lines: list[str], ctx: ParseContext) -> Any:
        return fn(lines)

    call.__name__ = fn.__name__
    call.__doc__ = fn.__doc__
    return call


def _datetime_range(lines: list[str], ctx: ParseContext) -> tuple[datetime, datetime | None]:
    return datetime_range(lines, ctx.tz, ctx.reference)


# Uniform signature for the rules engine: PARSERS[name](lines, ParseContext(tz, reference)).
PARSERS: dict[str, Parser] = {
    "reservation_id": _plain(reservation_id),
    "datetime_range": _datetime_range,
    "duration": _plain(duration),
    "person": _plain(person),
    "name": _plain(name),
    "kana": _plain(kana),
    "email": _plain(email),
    "phone": _plain(phone),
    "staff": _plain(staff),
    "menu": _plain(menu),
    "text": _plain(text),
}
