"""A running mailgate sees the calendar as it is in the database: a change made elsewhere (the CLI, another
node) counts for the next notice without a restart."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

from mailgate import config, db
from mailgate.context import Context
from mailgate.shop import shift_store
from mailgate.shop.live import LiveCalendar
from tests.conftest import write_config

SHOP = '[[shop.staff]]\nname = "佐藤"\n'


def test_a_shift_set_in_the_database_counts_without_a_restart(tmp_path: Path) -> None:
    ctx = Context.build(config.load(write_config(tmp_path, shop=SHOP)))
    live = LiveCalendar(ctx.engine, ctx.cfg.tz)  # as a running node holds it
    day = date(2026, 12, 3)
    assert live.current().shift("佐藤", day) is not None
    first = live.current()
    assert live.current() is first  # nothing changed: not built again

    other = Context.build(ctx.cfg)  # another process sets a day off
    with db.transaction(other.engine) as s:
        shift_store.set_shift(s, other.calendar, "佐藤", day, None)
    assert live.current().shift("佐藤", day) is None
    with db.transaction(other.engine) as s:
        shift_store.set_shift(s, other.calendar, "佐藤", day, (time(22), time(2)))
    assert live.current().shift("佐藤", day) == (time(22), time(2))  # past midnight
