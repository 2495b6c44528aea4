"""Reading a CSV file to import: every row checked before anything is written, each bad row
reported with its line number and why. What comes out are ledger commands (ledger/bookings.py Book)
and customers (ledger/matching.py Person), each with the key that makes a second import change
nothing: the source and the file's reservation number, else the file's booking id, else a hash of
the row."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mailgate import normalize
from mailgate.exchange import column_map
from mailgate.exchange.cells import restored
from mailgate.exchange.column_map import ColumnMap
from mailgate.ledger.bookings import Book
from mailgate.ledger.matching import Person
from mailgate.models import BookingStatus
from mailgate.shop.calendar import Calendar

DEFAULT_SOURCE = "import"
NO_ONE = frozenset({"", "anyone", "指名なし", "フリー", "なし"})  # a staff cell that names no one
STATUSES = {
    "": BookingStatus.CONFIRMED,
    "confirmed": BookingStatus.CONFIRMED,
    "確定": BookingStatus.CONFIRMED,
    "予約": BookingStatus.CONFIRMED,
    "cancelled": BookingStatus.CANCELLED,
    "canceled": BookingStatus.CANCELLED,
    "キャンセル": BookingStatus.CANCELLED,
    "取消": BookingStatus.CANCELLED,
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PUNCTUATION = re.compile(r"[\s()（）.\-‐‑–—−－ー]")


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, header); str(e) says what to do."""


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str


@dataclass(frozen=True)
class BookingRow:
    line: int
    book: Book
    status: str  # confirmed | cancelled
    price: int
    note: str
    created_at: datetime | None


@dataclass(frozen=True)
class CustomerRow:
    line: int
    person: Person
    memo: str
    created_at: datetime | None


class _Bad(ValueError):
    pass


def records(path: Path, kind: str, cmap: ColumnMap, encoding: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(the line a record starts on, our column -> its cell), blank lines left out."""
    try:
        text = path.read_bytes().decode(encoding)
    except OSError as e:
        raise FileError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        other = "cp932" if encoding != "cp932" else "utf-8-sig"
        raise FileError(f"{path} is not {encoding} text (byte {e.start}): try --encoding {other}") from None
    except LookupError:
        raise FileError(f"unknown encoding {encoding!r}: utf-8-sig or cp932") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise FileError(f"{path} is empty")
    try:
        where = column_map.bind(cmap, header, kind)
    except column_map.MapError as e:
        raise FileError(str(e)) from None
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise FileError(f"line {line}: {e}") from None
        if any(c.strip() for c in cells):
            yield line, {k: restored(cells[i]).strip() if i < len(cells) else "" for k, i in where.items()}


def _phone(value: str) -> str:
    """A phone number as a ledger already holds it: a number the numbering plan knows, or at least
    10 or 11 digits from 0 (another system's data may have numbers no plan lists)."""
    try:
        return normalize.phone(value)
    except normalize.NormalizeError:
        digits = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", value))
        digits = "0" + digits[3:] if digits.startswith("+81") else digits
        if re.fullmatch(r"0[0-9]{9,10}", digits):
            return digits
        raise


def _person(row: dict[str, str], prefix: str, bad: list[str]) -> Person:
    def field(key: str, clean: Callable[[str], str]) -> str:
        value = row.get(prefix + key, "")
        if not value:
            return ""
        try:
            return clean(value)
        except normalize.NormalizeError as e:
            bad.append(f"bad {prefix}{key} {value!r}: {e}")
            return ""

    def email(value: str) -> str:
        if not _EMAIL.fullmatch(value):
            raise normalize.NormalizeError("not a mail address")
        return value

    person = Person(
        name=field("name", normalize.name),
        name_kana=field("name_kana" if not prefix else "kana", normalize.kana),
        phone=field("phone", _phone),
        email=field("email", email),
    )
    if not (person.name or person.phone or person.email) and not bad:
        bad.append("no customer: give a name, a phone number or a mail address")
    return person


def _when(row: dict[str, str], key: str, cmap: ColumnMap, cal: Calendar, bad: list[str]) -> datetime | None:
    value = row.get(key, "")
    if not value:
        return None
    try:
        return column_map.parse_datetime(value, cmap, cal.tz)
    except ValueError:
        bad.append(f"bad {key} {value!r}")
        return None


def _start_end(
    row: dict[str, str], cmap: ColumnMap, cal: Calendar, bad: list[str]
) -> tuple[datetime | None, datetime | None]:
    if row.get("start") or not row.get("date"):
        start, end = _when(row, "start", cmap, cal, bad), _when(row, "end", cmap, cal, bad)
        if start is None and not bad:
            bad.append("no start time")
        return start, end
    try:
        day = column_map.parse_date(row["date"], cmap)
    except ValueError:
        bad.append(f"bad date {row['date']!r}")
        return None, None
    times = []
    for key in ("start_time", "end_time"):
        try:
            value = row.get(key, "")
            times.append(datetime.combine(day, column_map.parse_time(value, cmap), cal.tz) if value else None)
        except ValueError:
            bad.append(f"bad {key} {row.get(key)!r}")
            times.append(None)
    if times[0] is None and not bad:
        bad.append("no start_time")
    return times[0], times[1]


def booking_row(line: int, row: dict[str, str], cmap: ColumnMap, cal: Calendar) -> BookingRow:
    bad: list[str] = []
    start, end = _start_end(row, cmap, cal, bad)
    menu = cal.menu_named(row.get("menu", "")) if row.get("menu") else None
    if menu is None:
        names = ", ".join(m.name for m in cal.menus)
        bad.append(f"unknown menu {row.get('menu', '')!r} (the shop's menus: {names})")
    staff = None
    if row.get("staff", "").lower() not in NO_ONE:
        staff = cal.staff_named(row["staff"])
        if staff is None:
            bad.append(f"unknown staff {row['staff']!r} (the shop's staff: {', '.join(cal.staff)})")
    status = STATUSES.get(row.get("status", "").lower())
    if status is None:
        bad.append(f"status {row['status']!r} cannot be imported: confirmed or cancelled")
    price = re.sub(r"[,¥￥円\s]", "", row.get("price", ""))
    if price and not price.isdigit():
        bad.append(f"bad price {row['price']!r}")
    person = _person(row, "customer_", bad)
    created = _when(row, "created_at", cmap, cal, bad)
    if start is not None and end is not None and end <= start:
        bad.append("the end is not after the start")
    if bad or start is None or menu is None or status is None:
        raise _Bad("; ".join(bad))
    source = row.get("source") or cmap.source or DEFAULT_SOURCE
    external = row.get("external_id") or None
    book = Book(
        source=source,
        start=start,
        end=end or start + menu.duration,
        staff=staff,
        menu=menu.name,
        customer=person,
        external_id=external,
        idempotency_key=None if external else _key(source, row),
        link_typed=False,
    )
    return BookingRow(line, book, status, int(price) if price else menu.price, row.get("note", ""), created)


def _key(source: str, row: dict[str, str]) -> str:
    """The file's own booking id, else the row itself: the same row imports once."""
    if row.get("booking_id"):
        return f"import:{source}:{row['booking_id']}"[:100]
    digest = hashlib.sha256(repr(sorted(row.items())).encode()).hexdigest()[:32]
    return f"import:{source}:row:{digest}"[:100]


def customer_row(line: int, row: dict[str, str], cmap: ColumnMap, cal: Calendar) -> CustomerRow:
    bad: list[str] = []
    person = _person(row, "", bad)
    created = _when(row, "created_at", cmap, cal, bad)
    if bad:
        raise _Bad("; ".join(bad))
    return CustomerRow(line, person, row.get("memo", ""), created)


def check(
    path: Path, kind: str, cmap: ColumnMap, encoding: str, cal: Calendar
) -> tuple[list[Any], list[Problem]]:
    """Every row of the file: the good ones (BookingRow or CustomerRow), and a Problem for each bad one."""
    parse = booking_row if kind == "bookings" else customer_row
    good: list[Any] = []
    problems: list[Problem] = []
    seen: dict[object, int] = {}
    for line, row in records(path, kind, cmap, encoding):
        try:
            parsed = parse(line, row, cmap, cal)
        except _Bad as e:
            problems.append(Problem(line, str(e)))
            continue
        key = _identity(parsed)
        if key in seen:
            problems.append(Problem(line, f"the same {kind[:-1]} as line {seen[key]}"))
            continue
        seen[key] = line
        good.append(parsed)
    return good, problems


def _identity(parsed: BookingRow | CustomerRow) -> object:
    if isinstance(parsed, CustomerRow):
        p = parsed.person
        return ("phone", p.phone, p.name) if p.phone else ("email", p.email.lower(), p.name)
    b = parsed.book
    return (b.source, b.external_id) if b.external_id else b.idempotency_key
