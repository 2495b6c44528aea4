"""A running mailgate sees the shift table as it is on disk, and survives a half-edited one."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from mailgate import config
from mailgate.shop.live import LiveCalendar
from tests.conftest import write_config

SHOP = 'shifts = "shifts.csv"\n[[shop.staff]]\nname = "佐藤"\n'


def write(path: Path, text: str, tick: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(tick, tick))  # a distinct mtime even within one clock tick


def test_an_edited_shift_table_counts_without_a_restart(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path, shop=SHOP)
    table = tmp_path / "shifts.csv"
    write(table, "date,staff,start,end\n2026-12-03,佐藤,10:00,16:00\n", 1_000_000_000)
    live = LiveCalendar(config.load(cfg_path))
    day = date(2026, 12, 3)
    assert live.current().shift("佐藤", day) is not None

    write(table, "date,staff,start,end\n2026-12-03,佐藤,off,\n", 2_000_000_000)
    assert live.current().shift("佐藤", day) is None

    write(table, "date,staff,start,end\n2026-12-03,山本,25:00,xx\n", 3_000_000_000)  # a mistake
    assert live.current().shift("佐藤", day) is None  # the last good table stays in use
