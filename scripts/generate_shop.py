"""A realistic shop for tests and benchmarks, the same for the same seed: a 整体院 with staff (and the
names vendors write for them), menus of 30-120 minutes with a buffer after each, hours with a lunch
break and a closed weekday, a weekly shift pattern per person with some days off, and bookings that fit
all of it — never two at once for one person — each holding the seat claims ledger/seats.py makes.

    .venv/bin/python scripts/generate_shop.py --dir /tmp/shop              # 5 staff × 25 days × 10
    .venv/bin/python scripts/generate_shop.py --dir /tmp/big --size large  # 20 staff, 200,000 bookings
    .venv/bin/python scripts/generate_shop.py --dir /tmp/pg --db postgresql+psycopg://postgres@host/db

Each person gets exactly --per-day bookings on each of their first --days working days from --start
(the large size: 1,000 working days each from January 2025, past and future alike). It writes
DIR/mailgate.toml and DIR/shifts.csv, brings the database to the newest revision (as `mailgate db
upgrade` does), imports the shop through shop/importing.py as `mailgate shop import` does, adds the
lunch break ([shop] hours have none, so it goes straight into the weekhours rows; a later `shop
import` drops it), then inserts customers, bookings and seat claims in batches (Core INSERTs). The
database (default DIR/var/mailgate.db) must hold no bookings yet.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, text
from sqlmodel import Session, select

from mailgate import config, db, schema
from mailgate.ledger import seats
from mailgate.models import Booking, BookingStatus, Customer, CustomerStatus
from mailgate.shop import calendar_db, importing, shift_store
from mailgate.shop.calendar import Calendar, Menu
from mailgate.shop_tables import SeatClaim, WeekHours

# (name, reading, romaji): the staff list, the first --staff of them.
STAFF = [
    ("佐藤", "さとう", "Sato"), ("鈴木", "すずき", "Suzuki"), ("高橋", "たかはし", "Takahashi"),
    ("田中", "たなか", "Tanaka"), ("伊藤", "いとう", "Ito"), ("渡辺", "わたなべ", "Watanabe"),
    ("山本", "やまもと", "Yamamoto"), ("中村", "なかむら", "Nakamura"), ("小林", "こばやし", "Kobayashi"),
    ("加藤", "かとう", "Kato"), ("吉田", "よしだ", "Yoshida"), ("山田", "やまだ", "Yamada"),
    ("佐々木", "ささき", "Sasaki"), ("山口", "やまぐち", "Yamaguchi"), ("松本", "まつもと", "Matsumoto"),
    ("井上", "いのうえ", "Inoue"), ("木村", "きむら", "Kimura"), ("林", "はやし", "Hayashi"),
    ("斎藤", "さいとう", "Saito"), ("清水", "しみず", "Shimizu"),
]  # fmt: skip
GIVEN = [
    ("花子", "ハナコ"), ("太郎", "タロウ"), ("美咲", "ミサキ"), ("健一", "ケンイチ"), ("陽子", "ヨウコ"),
    ("翔太", "ショウタ"), ("由美", "ユミ"), ("大輔", "ダイスケ"), ("さくら", "サクラ"), ("誠", "マコト"),
]  # fmt: skip
# The 60-minute course first: pages and mails without a menu named offer the first one.
# (name, alias, minutes, buffer, price, weight in the bookings, extra settings)
MENUS: list[tuple[str, str, int, int, int, int, dict[str, str]]] = [
    ("整体 60分コース", "整体60分", 60, 10, 6000, 30, {}),
    ("整体 30分", "整体30分", 30, 5, 3500, 25, {}),
    ("骨盤矯正", "矯正", 45, 10, 5500, 20, {"change_until": "1d18:00", "cancel_until": "1d18:00"}),
    ("整体 90分コース", "整体90分", 90, 15, 8800, 12, {"book_until": "2h"}),
    ("全身ほぐし 120分", "ロング", 120, 15, 11000, 5, {"book_until": "1d18:00", "staff": "experts"}),
    ("初回体験 30分", "体験", 30, 10, 2980, 8, {"confirm": "tentative"}),
]
WEIGHTS = {name: weight for name, _, _, _, _, weight, _ in MENUS}
HOURS = {
    "mon": "10:00-20:00",
    "tue": "closed",
    "wed": "10:00-20:00",
    "thu": "10:00-20:00",
    "fri": "10:00-20:00",
    "sat": "09:00-18:00",
    "sun": "09:00-18:00",
    "holiday": "10:00-19:00",
}
LUNCH = {0: [["13:00", "14:00"]], 2: [["13:00", "14:00"]], 3: [["13:00", "14:00"]], 4: [["13:00", "14:00"]]}
OPEN_DAYS = ("mon", "wed", "thu", "fri", "sat", "sun")
# Shift patterns (weekdays, weekends): the whole day, or from an hour later.
PATTERNS = [(("10:00", "20:00"), ("09:00", "18:00")), (("11:00", "20:00"), ("10:00", "18:00"))]
SOURCES = {"web": 30, "mail": 15, "phone": 20, "stores": 20, "salonboard": 15}
GAPS = (0, 0, 0, 0, 15, 30, 60, 90)  # minutes idle before a booking, when the day has room for it
GRID = timedelta(minutes=15)
BATCH = 5000


@dataclass(frozen=True)
class Plan:
    """Each of `staff` people gets exactly `per_day` bookings on each of their first `days` working
    days from `start` (a day too short for them is skipped): staff × days × per_day bookings."""

    seed: int = 1
    staff: int = 5
    days: int = 25
    per_day: int = 10
    start: date = date(2026, 12, 1)

    @property
    def bookings(self) -> int:
        return self.staff * self.days * self.per_day


# About four years from two years back: 20 × 1,000 × 10 = 200,000 bookings, past and future.
LARGE = Plan(staff=20, days=1000, per_day=10, start=date(2025, 1, 6))


def write_config(directory: Path, db_url: str, plan: Plan) -> Path:
    """DIR/mailgate.toml and the shift table it names."""
    directory.mkdir(parents=True, exist_ok=True)
    staff = STAFF[: plan.staff]
    (directory / "shifts.csv").write_text(_shift_table(plan), encoding="utf-8")
    path = directory / "mailgate.toml"
    path.write_text(
        f"""# Generated by scripts/generate_shop.py (seed {plan.seed}, {plan.staff} staff): test data.
# Lunch break 13:00-14:00 on weekdays is in the database only ([shop] hours have no breaks).
[mail]
domains = ["seitai.example"]
signup = "signup@seitai.example"
notices = "notices@seitai.example"

[shop]
name = "ジェネ整体院"
phone = "03-1234-5678"
public_holidays = "holiday"
shifts = "shifts.csv"
{_toml_staff(staff)}
{_toml_menus(staff)}
[shop.hours]
{"".join(f'{day} = "{hours}"{chr(10)}' for day, hours in HOURS.items())}
[links]
secrets = ["{secrets.token_urlsafe(32)}"]

[paths]
var = "var"

[db]
url = "{db_url}"
""",
        encoding="utf-8",
    )
    return path


def _toml_staff(staff: list[tuple[str, str, str]]) -> str:
    return "\n".join(
        f'[[shop.staff]]\nname = "{name}"\naliases = ["{kana}", "{romaji}", "{name} 先生"]'
        for name, kana, romaji in staff
    )


def _toml_menus(staff: list[tuple[str, str, str]]) -> str:
    """The menus; "experts" (the longest course) are the first half of the staff."""
    experts = json.dumps([name for name, _, _ in staff[: max(1, len(staff) // 2)]], ensure_ascii=False)
    tables = []
    for name, alias, minutes, buffer, price, _, extra in MENUS:
        lines = [f'name = "{name}"', f'aliases = ["{alias}"]', f"minutes = {minutes}", f"buffer = {buffer}"]
        lines.append(f"price = {price}")
        lines += [f"{k} = {experts if v == 'experts' else json.dumps(v)}" for k, v in extra.items()]
        tables.append("[[shop.menus]]\n" + "\n".join(lines))
    return "\n".join(tables)


def _shift_table(plan: Plan) -> str:
    """A usual week per person (two days off: the shop's Tuesday and one more) and, in the first
    weeks, a dated day off (有給) each."""
    lines = ["date,staff,start,end"]
    for i, (name, _, _) in enumerate(STAFF[: plan.staff]):
        weekday, weekend = PATTERNS[i % len(PATTERNS)]
        off = OPEN_DAYS[i % len(OPEN_DAYS)]
        for day in OPEN_DAYS:
            if day != off:
                start, end = weekend if day in ("sat", "sun") else weekday
                lines.append(f"{day},{name},{start},{end}")
        lines.append(f"{plan.start + timedelta(days=3 + 2 * i)},{name},off,")
    return "\n".join(lines) + "\n"


def build(cfg_path: Path, plan: Plan, *, log: bool = False) -> dict[str, int]:
    """The database of the config at cfg_path: the shop imported, then the bookings. Counts."""
    cfg = config.load(cfg_path)
    engine = db.make_engine(cfg.db_url)
    try:
        schema.ensure_current(engine)
        with db.transaction(engine) as session:
            if session.scalar(select(func.count()).select_from(Booking)):
                raise SystemExit(f"{cfg.db_url}: there are bookings already; give a new database")
            importing.import_shop(session, cfg.shop, importing.shift_rows(cfg))
            for row in session.exec(select(WeekHours)):
                row.breaks = LUNCH.get(row.weekday, [])
                session.add(row)
            shift_store.bump(session)
        with Session(engine) as session:
            cal = calendar_db.load(session, cfg.tz)
        with engine.begin() as conn:
            counts = _fill(conn, cal, plan, log)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))  # the planner's statistics, as a shop's database would have them
    finally:
        engine.dispose()
    return counts


def _fill(conn: Connection, cal: Calendar, plan: Plan, log: bool) -> dict[str, int]:
    rng = random.Random(plan.seed)
    customers = max(50, plan.bookings // 5)
    for first in range(0, customers, BATCH):
        conn.execute(
            insert(Customer),
            [_customer(rng, n) for n in range(first + 1, first + BATCH + 1) if n <= customers],
        )
    counts = {"customers": customers, "bookings": 0, "cancelled": 0, "seat_claims": 0}
    bookings: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    started = time.monotonic()
    for row in _bookings(rng, cal, plan, customers):
        bookings.append(row)
        counts["bookings"] += 1
        if row["status"] == BookingStatus.CANCELLED:
            counts["cancelled"] += 1
        else:
            claims.extend(_claims(cal, row))
        if len(bookings) >= BATCH:
            counts["seat_claims"] += _flush(conn, bookings, claims)
            if log:
                print(
                    f"  {counts['bookings']:>7} bookings  {time.monotonic() - started:5.1f} s",
                    file=sys.stderr,
                )
    counts["seat_claims"] += _flush(conn, bookings, claims)
    if conn.dialect.name == "postgresql":  # ids were given: the sequences carry on after them
        for table in ("booking", "customer"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    return counts


def _flush(conn: Connection, bookings: list[dict[str, Any]], claims: list[dict[str, Any]]) -> int:
    if bookings:
        conn.execute(insert(Booking), bookings)
    for first in range(0, len(claims), BATCH * 4):
        conn.execute(insert(SeatClaim), claims[first : first + BATCH * 4])
    done = len(claims)
    bookings.clear()
    claims.clear()
    return done


def _customer(rng: random.Random, n: int) -> dict[str, Any]:
    family, family_kana, romaji = rng.choice(STAFF)
    given, given_kana = rng.choice(GIVEN)
    email = f"{romaji.lower()}.{n}@example.jp" if rng.random() < 0.7 else ""
    return {
        "id": n,
        "email": email,
        "email_key": email or None,
        "status": CustomerStatus.LEDGER,
        "name": family + given,
        "name_kana": _katakana(family_kana) + given_kana,
        "phone": f"090{n:08d}",
        "pin_hash": "",
        "pin_failures": 0,
        "locked_until": None,
        "lockouts": 0,
        "memo": "",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "registered_at": None,
    }


def _katakana(hiragana: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in hiragana)


def _bookings(rng: random.Random, cal: Calendar, plan: Plan, customers: int) -> Iterator[dict[str, Any]]:
    sources, weights = list(SOURCES), list(SOURCES.values())
    made = 0
    worked = dict.fromkeys(cal.staff, 0)
    day = plan.start
    while any(n < plan.days for n in worked.values()):
        if day > plan.start + timedelta(days=plan.days * 7):
            raise SystemExit(f"no room for {plan.per_day} bookings a day on the calendar")
        for name in cal.staff:
            if worked[name] >= plan.days:
                continue
            mine = _person_day(rng, cal, day, name, plan.per_day)
            if mine:
                worked[name] += 1
            for menu, start in mine:
                made += 1
                yield _booking(rng, cal, made, name, menu, start, sources, weights, customers)
        day += timedelta(days=1)


def _person_day(
    rng: random.Random, cal: Calendar, day: date, name: str, n: int
) -> list[tuple[Menu, datetime]]:
    """One person's n bookings of a day, as offers would have them: starts on the grid from opening
    time, inside the shop's hours and the person's shift, clear of the lunch break, each after the
    previous one and its buffer, with idle time between when there is room; [] when the day cannot
    hold n (a day off, a short holiday)."""
    opening, span = cal.opening(day), cal.shift(name, day)
    if opening is None or span is None:
        return []
    opens, closes = cal.bounds(day, opening)
    starts, ends = cal.bounds(day, span)
    hi = min(closes, ends)
    breaks = [cal.bounds(day, b) for b in cal.breaks(day)]
    mine = [m for m in cal.menus if not m.staff or name in m.staff]
    weights = [WEIGHTS.get(m.name, 1) for m in mine]
    shortest = min(mine, key=lambda m: (m.minutes + m.buffer, m.minutes))

    def first_start(t: datetime, menu: Menu) -> datetime | None:
        t = _on_grid(t, opens)
        while t + menu.duration <= hi:
            lunch = next((b for b in breaks if b[0] < t + menu.duration and t < b[1]), None)
            if lunch is None:
                return t
            t = _on_grid(lunch[1], opens)
        return None

    def room(t: datetime, k: int) -> bool:  # for k of the shortest menu from t
        for _ in range(k):
            at = first_start(t, shortest)
            if at is None:
                return False
            t = _after(at, shortest)
        return True

    t = max(opens, starts)
    if not room(t, n):
        return []
    found: list[tuple[Menu, datetime]] = []
    for left in range(n - 1, -1, -1):
        menu, gap = rng.choices(mine, weights)[0], timedelta(minutes=rng.choice(GAPS))
        for m, g in ((menu, gap), (menu, timedelta(0)), (shortest, timedelta(0))):
            at = first_start(t + g, m)
            if at is not None and room(_after(at, m), left):
                break
        assert at is not None  # room(t, left + 1) held: the shortest menu without a gap fits
        found.append((m, at))
        t = _after(at, m)
    return found


def _after(start: datetime, menu: Menu) -> datetime:
    return start + menu.duration + timedelta(minutes=menu.buffer)


def _on_grid(t: datetime, opens: datetime) -> datetime:
    """The first start on the grid (from opening time) at or after t."""
    return opens + -((opens - t) // GRID) * GRID


def _booking(
    rng: random.Random,
    cal: Calendar,
    n: int,
    staff: str,
    menu: Menu,
    start: datetime,
    sources: list[str],
    weights: list[int],
    customers: int,
) -> dict[str, Any]:
    source = rng.choices(sources, weights)[0]
    vendor = source in ("stores", "salonboard")
    created = start - timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 600))
    return {
        "id": n,
        "source": source,
        "external_id": f"{source[:2].upper()}{n:08d}" if vendor else None,
        "idempotency_key": None,
        "customer_id": rng.randint(1, customers),
        "start": start.astimezone(UTC),
        "end": (start + menu.duration).astimezone(UTC),
        "staff": staff,
        "menu": menu.name,
        "staff_id": cal.staff_ids[staff],
        "menu_id": menu.id,
        "slot_id": None,
        "expires_at": None,
        "version": 1,
        "price": menu.price,
        "note": "",
        "status": BookingStatus.CANCELLED if rng.random() < 0.06 else BookingStatus.CONFIRMED,
        "created_at": created,
        "updated_at": created,
        "message_id": None,
        "notice_at": None,
        "moved_at": None,
    }


def _claims(cal: Calendar, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The seat claims fitting.hold would have made: the person's 5-minute grains, buffer included."""
    buffer = next(m.buffer for m in cal.menus if m.id == row["menu_id"])
    resource = seats.person(row["staff_id"])
    end = row["end"] + timedelta(minutes=buffer)
    return [
        {"resource": resource, "unit": u, "booking_id": row["id"]} for u in seats.grains(row["start"], end)
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, required=True, help="where mailgate.toml and shifts.csv go")
    parser.add_argument("--db", help="an SQLite file or a PostgreSQL URL (default: DIR/var/mailgate.db)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--size", choices=("small", "large"), default="small", help="large: 20 staff and 200,000 bookings"
    )
    parser.add_argument("--staff", type=int, help=f"how many (default 5, large 20; at most {len(STAFF)})")
    parser.add_argument("--days", type=int, help="working days with bookings per person (25; large 1000)")
    parser.add_argument("--per-day", type=int, help="bookings per person and working day (10)")
    parser.add_argument("--start", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    args = parser.parse_args(argv)
    size = LARGE if args.size == "large" else Plan()
    plan = Plan(
        seed=args.seed,
        staff=min(args.staff or size.staff, len(STAFF)),
        days=args.days or size.days,
        per_day=args.per_day or size.per_day,
        start=args.start or size.start,
    )
    url = db_url(args.db, args.dir)
    started = time.monotonic()
    counts = build(write_config(args.dir, url, plan), plan, log=True)
    print(", ".join(f"{v} {k}" for k, v in counts.items()) + f" in {time.monotonic() - started:.1f} s")
    print(f"config: {args.dir / 'mailgate.toml'}")


def db_url(given: str | None, directory: Path) -> str:
    if given and "://" in given:
        return given
    return f"sqlite:///{Path(given or directory / 'var' / 'mailgate.db').resolve()}"


if __name__ == "__main__":
    main()
