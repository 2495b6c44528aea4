"""The generated shop of scripts/generate_shop.py, on SQLite and PostgreSQL: as many bookings as the
plan says, never two at once for one person (buffers included), each holding the seat claims the
ledger would have made, so availability and the desk see them; the same seed, the same rows."""

from __future__ import annotations

import importlib
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from mailgate import config, db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import fitting, free_times, seats
from mailgate.ledger.fit_rules import DESK
from mailgate.ledger.results import Status
from mailgate.models import Booking, BookingStatus, Customer
from mailgate.shop_tables import SeatClaim

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def script(name: str) -> ModuleType:
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module(name)


def generated(directory: Path, url: str | None = None, seed: int = 1) -> Path:
    gen = script("generate_shop")
    plan = gen.Plan(seed=seed)
    cfg: Path = gen.write_config(directory, gen.db_url(url, directory), plan)
    gen.build(cfg, plan)
    return cfg


def rows(cfg: Path) -> list[tuple[Any, ...]]:
    engine = db.make_engine(config.load(cfg).db_url)
    with Session(engine) as s:
        found = [tuple(r) for r in s.execute(select(*Booking.__table__.c).order_by(Booking.id))]  # type: ignore[arg-type]
        found += [tuple(r) for r in s.execute(select(*Customer.__table__.c).order_by(Customer.id))]  # type: ignore[arg-type]
    engine.dispose()
    return found


def test_the_small_shop_is_ten_bookings_a_day_for_5_staff_over_25_days_never_overlapping(
    tmp_path: Path, db_url: str
) -> None:
    ctx = Context.build(config.load(generated(tmp_path / "shop", db_url)))
    cal = ctx.calendar
    with Session(ctx.engine) as s:
        booked = list(s.exec(select(Booking).order_by(Booking.start)).scalars())  # type: ignore[call-overload]
        claims = s.scalar(select(func.count()).select_from(SeatClaim))
    assert len(cal.staff) == 5 and len(booked) == 5 * 25 * 10
    assert [(str(a), str(b)) for a, b in cal.breaks(date(2026, 12, 2))] == [("13:00:00", "14:00:00")]
    assert Counter(b.staff for b in booked) == dict.fromkeys(cal.staff, 250)
    days = Counter((b.staff, cal.local(b.start).date()) for b in booked)
    assert set(days.values()) == {10} and len(days) == 5 * 25
    buffer = {m.name: timedelta(minutes=m.buffer) for m in cal.menus}
    holding = [b for b in booked if b.status in BookingStatus.HOLDING]
    assert 0 < len(booked) - len(holding) < len(booked) // 10  # a few were cancelled
    for person in cal.staff:
        mine = [b for b in booked if b.staff == person]
        for before, after in pairwise(mine):
            assert before.end + buffer[before.menu] <= after.start, (before.id, after.id)
        for b in mine:  # inside the person's shift, clear of the lunch break
            day = cal.local(b.start).date()
            assert cal.works(person, b.start, b.end), b.id
            lunch = [cal.bounds(day, span) for span in cal.breaks(day)]
            assert not any(lo < b.end and b.start < hi for lo, hi in lunch), b.id
    assert claims == sum(len(seats.grains(b.start, b.end + buffer[b.menu])) for b in holding)

    # Availability and the desk see them: no offer overlaps a booking, and a booked time is taken.
    first = holding[0]
    day = cal.local(first.start).date()
    menu = cal.menus[0]
    with Session(ctx.engine) as s:
        offered = free_times.on_day(s, cal, menu, day, now=first.start - timedelta(days=2), staff=first.staff)
    for o in offered:
        assert not any(
            b.staff == first.staff
            and b.start < o.end + buffer[menu.name]
            and o.start < b.end + buffer[b.menu]
            for b in holding
        )
    cmd = fitting.FitBook(
        source="phone",
        start=first.start,
        menu=menu.name,
        staff=first.staff,
        customer_id=1,
        policy=DESK,
        notify=False,
    )
    with db.transaction(ctx.engine) as s:
        assert (
            fitting.book(s, ctx.ledger, cmd, Actor.operator("test"), datetime.now(cal.tz)).status
            == Status.TAKEN
        )


def test_the_same_seed_builds_the_same_rows_and_another_seed_others(tmp_path: Path) -> None:
    once = rows(generated(tmp_path / "a"))
    assert rows(generated(tmp_path / "b")) == once
    assert rows(generated(tmp_path / "c", seed=2)) != once


def test_the_benchmark_reports_the_day_and_the_week_beside_the_bare_query(
    tmp_path: Path, capsys: Any
) -> None:
    script("bench_availability").main(["--dir", str(tmp_path / "bench"), "--size", "small", "--rounds", "3"])
    report = capsys.readouterr().out
    assert "1,250 bookings" in report and "3 random days" in report
    for line in ("bare query (baseline)", "day ", "week "):
        assert any(r.startswith(line) and len(r.split()) >= 5 for r in report.splitlines()), report
