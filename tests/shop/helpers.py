"""A demo shop for the calendar tests: two staff, three menus, closed on Tuesdays, a shift table.

The week of 2026-11-30 (Mon) .. 2026-12-06 (Sun); 12/1 is a Tuesday (定休日), 12/31 a holiday.
佐藤 has a usual week (Mon, Wed-Fri 10-16; Sat/Sun off) and works 13-20 on 12/3; 田中 has no usual week
(the shop's hours) and is off on 12/4.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mailgate.config import Config
from mailgate.context import Context
from mailgate.shop.calendar import Calendar
from mailgate.shop.clash import Slot

JST = ZoneInfo("Asia/Tokyo")

SHOP = """\
[shop]
name = "テスト整体院"
timezone = "Asia/Tokyo"
staff = [
  { name = "佐藤", aliases = ["さとう", "Sato", "佐藤 先生"] },
  { name = "田中", aliases = ["たなか"] },
]
menus = [
  { name = "整体 60分コース", aliases = ["整体60分"], minutes = 60 },
  { name = "整体 90分コース", minutes = 90 },
  { name = "骨盤矯正", minutes = 45 },
]
holidays = [2026-12-31]
{shifts}
[shop.hours]
mon = "10:00-20:00"
tue = "closed"
wed = "10:00-20:00"
thu = "10:00-20:00"
fri = "10:00-20:00"
sat = "10:00-18:00"
sun = "10:00-18:00"

[paths]
var = "var"
"""

SHIFTS_CSV = """\
date,staff,start,end
# 佐藤: the usual week
mon,佐藤,10:00,16:00
wed,佐藤,10:00,16:00
thu,さとう,10:00,16:00
fri,佐藤,10:00,16:00
2026-12-03,佐藤,13:00,20:00
2026-12-04,田中,off,
"""

SHIFTS_TOML = """\
# the same table as SHIFTS_CSV
[[shift]]
date = "mon"
staff = "佐藤"
start = "10:00"
end = "16:00"

[[shift]]
date = "wed"
staff = "佐藤"
start = "10:00"
end = "16:00"

[[shift]]
date = "thu"
staff = "さとう"
start = 10:00:00
end = 16:00:00

[[shift]]
date = "fri"
staff = "佐藤"
start = "10:00"
end = "16:00"

[[shift]]
date = 2026-12-03
staff = "佐藤"
start = "13:00"
end = "20:00"

[[shift]]
date = 2026-12-04
staff = "田中"
off = true
"""


def write_shop(
    directory: Path,
    *,
    shifts: str | None = "shifts.csv",
    table: str | bytes | None = SHIFTS_CSV,
    shop: str = SHOP,
) -> Path:
    """mailgate.toml for the demo shop, and its shift table (None: no file)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mailgate.toml"
    path.write_text(shop.replace("{shifts}", f'shifts = "{shifts}"\n' if shifts else ""), encoding="utf-8")
    if shifts and table is not None:
        target = directory / shifts
        if isinstance(table, bytes):
            target.write_bytes(table)
        else:
            target.write_text(table, encoding="utf-8")
    return path


def at(day: str, hhmm: str) -> datetime:
    """2026-12-03 13:00 in Tokyo."""
    return datetime.combine(date.fromisoformat(day), datetime.strptime(hhmm, "%H:%M").time(), tzinfo=JST)


def slot(
    staff: str | None, day: str, hhmm: str, minutes: int = 60, *, label: str = "", id: int | None = None
) -> Slot:
    start = at(day, hhmm)
    return Slot(id=id, staff=staff, start=start, end=start + timedelta(minutes=minutes), label=label)


def db_calendar(cfg: Config) -> Calendar:
    """The calendar as mailgate runs with it: the config's [shop] imported into a fresh database (its
    first use), then read back from the tables."""
    return Context.build(cfg).calendar
