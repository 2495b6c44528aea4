"""How long one day's free times take with 20 staff and 200,000 bookings in the database — the path a
page or a mail takes (the calendar, one read of the day's bookings, availability.offers) — beside the
bare query that reads the day's bookings, measured in the same run on the same days. A benchmark, not
a test: the machine is shared, so it reports ratios to that baseline as well as milliseconds.

    .venv/bin/python scripts/bench_availability.py                        # SQLite in /tmp/mailgate-bench
    .venv/bin/python scripts/bench_availability.py --db postgresql+psycopg://postgres@127.0.0.1:15432/bench

The first run builds the shop with scripts/generate_shop.py --size large (under a minute on SQLite);
later runs reuse it. It stops after --rounds days or --seconds, whichever comes first. Targets
(issue #8): a day p95 under 5 ms, a week under 30 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate_shop  # the generator beside this script

from mailgate import config, db
from mailgate.ledger import free_times
from mailgate.models import Booking, BookingStatus
from mailgate.shop.calendar import Calendar
from mailgate.shop.live import LiveCalendar

TARGETS = {"day": 5.0, "week": 30.0}  # p95, milliseconds


def shop(directory: Path, url: str | None, plan: generate_shop.Plan, rebuild: bool) -> Path:
    """The shop's config, built unless it is there already with the plan's bookings."""
    path = directory / "mailgate.toml"
    if path.exists() and not rebuild:
        engine = db.make_engine(config.load(path).db_url)
        with Session(engine) as s:
            n = s.scalar(select(func.count()).select_from(Booking))
        engine.dispose()
        if n == plan.bookings:
            return path
    if url is None and directory.exists():
        (directory / "var" / "mailgate.db").unlink(missing_ok=True)
    print(f"building the shop in {directory} ...", file=sys.stderr)
    cfg = generate_shop.write_config(directory, generate_shop.db_url(url, directory), plan)
    generate_shop.build(cfg, plan, log=True)
    return path


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def bare_day(engine: Engine, cal: Calendar, day: date) -> Callable[[], object]:
    """The baseline: the day's bookings that hold seats, as rows, nothing else."""
    lo = datetime.combine(day, clock.min, cal.tz)
    stmt = select(Booking.staff, Booking.start, Booking.end, Booking.menu).where(
        Booking.start >= lo,
        Booking.start < lo + timedelta(days=1),
        Booking.status.in_(BookingStatus.HOLDING),  # type: ignore[attr-defined]
    )

    def run() -> object:
        with engine.connect() as conn:
            return conn.execute(stmt).all()

    return run


def free(
    engine: Engine, calendars: LiveCalendar, days: list[date], staff: str | None
) -> Callable[[], object]:
    """A page's path: the current calendar (one version query), one read, the offers of each day."""

    def run() -> object:
        with Session(db.reading(engine)) as s:
            cal = calendars.current(s)
            now = datetime.combine(days[0] - timedelta(days=1), clock(9), cal.tz)
            return free_times.on_days(s, cal, cal.menus[0], days, now=now, staff=staff)

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, default=Path("/tmp/mailgate-bench"))
    parser.add_argument("--db", help="a PostgreSQL URL (default: SQLite in DIR/var)")
    parser.add_argument("--size", choices=("small", "large"), default="large", help="the generated shop's")
    parser.add_argument("--rounds", type=int, default=1000, help="random days measured")
    parser.add_argument("--seconds", type=float, default=300, help="stop measuring after this long")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="build the shop again")
    args = parser.parse_args(argv)
    plan = generate_shop.LARGE if args.size == "large" else generate_shop.Plan()
    cfg = config.load(shop(args.dir, args.db, plan, args.rebuild))
    engine = db.make_engine(cfg.db_url)
    calendars = LiveCalendar(engine, cfg.tz)
    cal = calendars.current()
    with Session(engine) as s:
        first, last = s.exec(select(func.min(Booking.start), func.max(Booking.start))).one()
        total = s.scalar(select(func.count()).select_from(Booking))
    span = (cal.local(last).date() - cal.local(first).date()).days
    loaded = os.getloadavg()[0]  # a shared machine: others' work shows in the p95
    rng = random.Random(args.seed)
    samples: dict[str, list[float]] = {"bare query (baseline)": [], "day": [], "week": []}
    warm = min(50, args.rounds)  # rounds not counted: caches, the calendar's first load
    found = rounds = 0
    deadline = time.monotonic() + args.seconds
    while rounds < args.rounds + warm and time.monotonic() < deadline:
        day = cal.local(first).date() + timedelta(days=rng.randrange(max(1, span - 7)))
        while cal.opening(day) is None:
            day += timedelta(days=1)
        staff = rng.choice([None, None, *cal.staff])
        week = [day + timedelta(days=i) for i in range(7)]
        runs = [
            ("bare query (baseline)", bare_day(engine, cal, day)),
            ("day", free(engine, calendars, [day], staff)),
            ("week", free(engine, calendars, week, staff)),
        ]
        rng.shuffle(runs)  # no one always first after a pause
        for name, fn in runs:
            ms = timed(fn)
            if rounds >= warm:
                samples[name].append(ms)
        found += len(free(engine, calendars, [day], staff)()[day])  # type: ignore[index]
        rounds += 1
    engine.dispose()
    measured = len(samples["day"])
    if measured < 2:
        raise SystemExit(f"only {measured} rounds in {args.seconds} s: give more --seconds")
    print(
        f"{engine.dialect.name} {engine.dialect.server_version_info or ''}, {total:,} bookings over "
        f"{span} days, {len(cal.staff)} staff, menu {cal.menus[0].name!r}; {measured} random days and "
        f"staff choices ({found / rounds:.1f} free times a day), Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {loaded:.1f} before and {os.getloadavg()[0]:.1f} after"
    )
    base = samples["bare query (baseline)"]
    print(f"{'':<24}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'p50 ×':>8}{'p95 ×':>8}  target p95")
    for name, values in samples.items():
        p50, p95, p99 = (_pct(values, q) for q in (50, 95, 99))
        target = (
            f"< {TARGETS[name]:.0f} ms {'ok' if p95 < TARGETS[name] else 'MISSED'}" if name in TARGETS else ""
        )
        print(
            f"{name:<24}{p50:>8.2f}{p95:>8.2f}{p99:>8.2f}"
            f"{p50 / _pct(base, 50):>8.1f}{p95 / _pct(base, 95):>8.1f}  {target}"
        )


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


if __name__ == "__main__":
    main()
