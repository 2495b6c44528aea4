"""The shift table: who works when. Read from CSV or TOML, every mistake reported as FILE:LINE.

CSV, one row per person and day (a header row `date,staff,start,end` is optional; `#` lines are comments):

    date,staff,start,end
    mon,佐藤,10:00,16:00        <- the default week: a weekday name instead of a date
    2026-12-03,佐藤,off,        <- a dated row overrides the week; `off` (or 休) = day off

TOML, the same rows as tables:

    [[shift]]
    date = 2026-12-03
    staff = "佐藤"
    start = "12:00"
    end = "20:00"          # or: off = true

Spreadsheets save CSV as Shift_JIS (cp932) or UTF-8 with a BOM; both are read, and the writer keeps what
it found.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from mailgate.config import ConfigError
from mailgate.times import (
    WEEKDAYS,
    Span,
    fmt_span_ascii,
    is_closed_word,
    parse_date,
    parse_time,
    weekday_index,
)

FORMATS = {".csv": "csv", ".toml": "toml"}
HEADER_WORDS = frozenset({"date", "日付"})
TOML_KEYS = frozenset({"date", "staff", "start", "end", "off"})
SHIFT_HEADER = re.compile(r"^\s*\[\[\s*shift\s*\]\]")

Day = date | int  # a date, or a weekday index 0 (mon) .. 6 (sun) for the default week


class ShiftTableError(ConfigError):
    """The shift table has mistakes; str(e) lists them, one FILE:LINE: per line."""


@dataclass(frozen=True)
class ShiftRow:
    line: int  # 1-based; for TOML the line of its [[shift]] header (0 when it cannot be told)
    day: Day
    staff: str  # as written in the file
    span: Span | None  # None: day off


@dataclass(frozen=True)
class ShiftTable:
    path: Path
    rows: tuple[ShiftRow, ...]
    mistakes: tuple[str, ...]  # rows with a mistake are left out of `rows`


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ShiftTableError(f"{path}: expected a .csv or .toml shift table")
    return fmt


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without BOM) first, then the Shift_JIS that Excel writes."""
    # The encoding names are what the writer encodes with: a BOM read is a BOM written back.
    for encoding in ("utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8", "cp932"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace"), "utf-8"


def read(path: Path) -> ShiftTable:
    """Parse the file; OSError when it cannot be read, a missing file included."""
    fmt = file_format(path)
    text, _ = decode(path.read_bytes())
    return parse_csv(text, path) if fmt == "csv" else parse_toml(text, path)


def format_day(day: Day) -> str:
    return WEEKDAYS[day] if isinstance(day, int) else day.isoformat()


def _where(path: Path, line: int, index: int = 0) -> str:
    return f"{path}:{line}" if line else f"{path}: [[shift]] #{index}"


def parse_day(value: object) -> Day | None:
    """A date (TOML date or text), or a weekday index for mon..sun."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        found = parse_date(value)
        return found if found is not None else weekday_index(value)
    return None


def _as_time(value: object) -> time | None:
    if isinstance(value, time):  # TOML local times: start = 10:00:00
        return value if not value.second and not value.microsecond else None
    return parse_time(value) if isinstance(value, str) else None


def _row(
    where: str, line: int, day_v: object, staff_v: object, start_v: object, end_v: object, off: bool
) -> tuple[ShiftRow | None, list[str]]:
    """One row from its cells, or the mistakes in it (all of them, so one pass fixes the file)."""
    errors = []
    day = parse_day(day_v)
    if day is None:
        errors.append(f"{where}: date: expected YYYY-MM-DD or a weekday mon..sun, got {day_v!r}")
    staff = staff_v.strip() if isinstance(staff_v, str) else ""
    if not staff:
        errors.append(f"{where}: staff: missing")
    span: Span | None = None
    if off:
        if end_v not in (None, ""):
            errors.append(f"{where}: end: expected nothing on a day off, got {end_v!r}")
    else:
        start, end = _as_time(start_v), _as_time(end_v)
        if start is None:
            errors.append(f"{where}: start: expected HH:MM or off, got {start_v!r}")
        if end is None:
            errors.append(f"{where}: end: expected HH:MM, got {end_v!r}")
        if start is not None and end is not None:
            if end == start:
                errors.append(f"{where}: end {end:%H:%M} is the start (an end before it runs past midnight)")
            span = (start, end)
    if errors or day is None:
        return None, errors
    return ShiftRow(line=line, day=day, staff=staff, span=span), []


def parse_csv(text: str, path: Path) -> ShiftTable:
    rows: list[ShiftRow] = []
    mistakes: list[str] = []
    seen_data = False
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader([line]))]
        if not seen_data and cells[0].lower() in HEADER_WORDS:
            seen_data = True
            continue
        seen_data = True
        where = f"{path}:{lineno}"
        if len(cells) == 3:
            cells.append("")
        if len(cells) != 4:
            mistakes.append(f"{where}: expected 4 columns date,staff,start,end, got {len(cells)}")
            continue
        off = is_closed_word(cells[2])
        row, errors = _row(where, lineno, cells[0], cells[1], cells[2], cells[3], off)
        mistakes.extend(errors)
        if row:
            rows.append(row)
    return ShiftTable(path, tuple(rows), tuple(mistakes))


def toml_header_lines(text: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines(), 1) if SHIFT_HEADER.match(line)]


def parse_toml(text: str, path: Path) -> ShiftTable:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return ShiftTable(path, (), (f"{path}: not valid TOML: {e}",))
    mistakes = [f"{path}: {key}: unknown key (expected [[shift]] tables)" for key in doc if key != "shift"]
    tables = doc.get("shift", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        return ShiftTable(path, (), (*mistakes, f"{path}: shift: expected [[shift]] tables"))
    headers = toml_header_lines(text)
    lines = headers if len(headers) == len(tables) else [0] * len(tables)
    rows: list[ShiftRow] = []
    for index, (table, lineno) in enumerate(zip(tables, lines, strict=True), 1):
        where = _where(path, lineno, index)
        mistakes.extend(f"{where}: {key}: unknown key" for key in table if key not in TOML_KEYS)
        off_v = table.get("off", False)
        if not isinstance(off_v, bool):
            mistakes.append(f"{where}: off: expected true or false, got {off_v!r}")
            continue
        start_v = table.get("start")
        off = off_v or (isinstance(start_v, str) and is_closed_word(start_v))
        row, errors = _row(
            where, lineno, table.get("date"), table.get("staff"), start_v, table.get("end"), off
        )
        mistakes.extend(errors)
        if row:
            rows.append(row)
    return ShiftTable(path, tuple(rows), tuple(mistakes))


def check(table: ShiftTable, staff_named: Callable[[str], str | None]) -> list[str]:
    """All mistakes: the parser's, unknown staff, and a person twice on the same day."""
    mistakes = list(table.mistakes)
    first: dict[tuple[str, Day], str] = {}
    for index, row in enumerate(table.rows, 1):
        where = _where(table.path, row.line, index)
        name = staff_named(row.staff)
        if name is None:
            mistakes.append(f"{where}: staff: {row.staff!r} is not in [shop] staff (names and aliases)")
            continue
        key = (name, row.day)
        if key in first:
            mistakes.append(f"{where}: {name} {format_day(row.day)} is already at {first[key]}")
        else:
            first[key] = f"line {row.line}" if row.line else f"[[shift]] #{index}"
    return sorted(mistakes, key=lambda m: _line_of(m, table.path))


def _line_of(mistake: str, path: Path) -> int:
    """For listing mistakes top to bottom, as the person fixing them reads the file."""
    m = re.match(re.escape(str(path)) + r":(\d+):", mistake)
    return int(m.group(1)) if m else 0


def canonical_rows(
    rows: Iterable[ShiftRow], staff_named: Callable[[str], str | None]
) -> dict[tuple[str, Day], Span | None]:
    """(staff, day) -> span for the rows whose staff is known; the first row wins (check flags the rest)."""
    table: dict[tuple[str, Day], Span | None] = {}
    for row in rows:
        name = staff_named(row.staff)
        if name is not None:
            table.setdefault((name, row.day), row.span)
    return table


def render(fmt: str, rows: Iterable[tuple[Day, str, Span | None]]) -> str:
    """A whole table in the file's format ("csv" or "toml"), as `mailgate shifts export` writes it."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["date", "staff", "start", "end"])
        for day, staff, span in rows:
            start, end = ("off", "") if span is None else fmt_span_ascii(span).split("-")
            writer.writerow([format_day(day), staff, start, end])
        return out.getvalue()
    blocks = []
    for day, staff, span in rows:
        when = f'"{format_day(day)}"' if isinstance(day, int) else day.isoformat()
        name = staff.replace("\\", "\\\\").replace('"', '\\"')
        times = (
            "off = true"
            if span is None
            else 'start = "{}"\nend = "{}"'.format(*fmt_span_ascii(span).split("-"))
        )
        blocks.append(f'[[shift]]\ndate = {when}\nstaff = "{name}"\n{times}\n')
    return "\n".join(blocks)
