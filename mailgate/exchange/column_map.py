"""Which column of a CSV file holds what: mailgate's own export names as they are, or another
system's headers through a map file (TOML):

    source = "oldsalon"           # the bookings' source when the file has no source column
    encoding = "cp932"
    date_format = "%Y/%m/%d"      # strptime formats; ISO 8601 when not given
    time_format = "%H:%M"
    [columns]                     # our column = their header
    date = "予約日"
    start_time = "開始時刻"
    customer_name = "お客様名"
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from pathlib import Path

from mailgate.exchange.csv_export import BOOKINGS, CUSTOMERS

# What an import reads; besides the export's columns, a booking's day and times may come apart.
BOOKING_KEYS = (*BOOKINGS, "date", "start_time", "end_time")
CUSTOMER_KEYS = CUSTOMERS
KEYS = {"bookings": BOOKING_KEYS, "customers": CUSTOMER_KEYS}
_SETTINGS = ("source", "encoding", "date_format", "time_format", "datetime_format")


class MapError(ValueError):
    """A map file, or a file's header, that cannot be read as asked; str(e) says what to change."""


@dataclass(frozen=True)
class ColumnMap:
    columns: dict[str, str] = field(default_factory=dict)  # ours -> theirs; empty: the export's names
    source: str = ""
    encoding: str = ""
    date_format: str = ""
    time_format: str = ""
    datetime_format: str = ""


OWN = ColumnMap()


def load(path: Path, kind: str) -> ColumnMap:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise MapError(f"cannot read the map {path}: {e}") from None
    unknown = sorted(set(data) - {*_SETTINGS, "columns"})
    columns = data.get("columns", {})
    if unknown or not isinstance(columns, dict) or not columns:
        raise MapError(f"{path}: expected {', '.join(_SETTINGS)} and a [columns] table (unknown: {unknown})")
    wrong = sorted(set(columns) - set(KEYS[kind]))
    if wrong:
        raise MapError(f"{path}: {', '.join(wrong)} are not {kind} columns; ours: {', '.join(KEYS[kind])}")
    settings = {k: str(data[k]) for k in _SETTINGS if k in data}
    return ColumnMap(columns={k: str(v) for k, v in columns.items()}, **settings)


def bind(cmap: ColumnMap, header: Sequence[str], kind: str) -> dict[str, int]:
    """Our column -> its index in the file."""
    where = {name.strip(): i for i, name in enumerate(header)}
    if not cmap.columns:
        found = {k: where[k] for k in KEYS[kind] if k in where}
        if not found:
            raise MapError(
                f"none of mailgate's {kind} columns ({', '.join(KEYS[kind][:6])} ...) is in the header; "
                "another system's file needs a column map: --map MAP.toml (see README)"
            )
        return found
    missing = [f"{theirs} ({ours})" for ours, theirs in cmap.columns.items() if theirs not in where]
    if missing:
        raise MapError(f"the file has no column {', '.join(missing)}; its header: {', '.join(header)}")
    return {ours: where[theirs] for ours, theirs in cmap.columns.items()}


def _iso(text: str) -> str:
    return text.strip().replace("/", "-")


def parse_date(text: str, cmap: ColumnMap) -> date:
    if cmap.date_format:
        return datetime.strptime(text.strip(), cmap.date_format).date()
    return date.fromisoformat(_iso(text))


def parse_time(text: str, cmap: ColumnMap) -> time:
    if cmap.time_format:
        return datetime.strptime(text.strip(), cmap.time_format).time()
    return time.fromisoformat(text.strip())


def parse_datetime(text: str, cmap: ColumnMap, zone: tzinfo) -> datetime:
    """A time with its offset as written, else in the shop's zone."""
    if cmap.datetime_format:
        value = datetime.strptime(text.strip(), cmap.datetime_format)
    else:
        value = datetime.fromisoformat(_iso(text))
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)
