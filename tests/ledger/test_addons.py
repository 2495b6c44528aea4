"""Add-ons with their own stock (タオルレンタル), on SQLite and PostgreSQL: booked with the menu and
paid for, held for the booking's time like a seat, freed by a cancel, claimed again by a move, and
never handed out more at once than exist, however many customers race for the last one."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, func, select

from mailgate import config, db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import addons, fitting
from mailgate.ledger.matching import Person
from mailgate.ledger.results import Result, Status
from mailgate.models import Booking
from mailgate.shop import calendar_db, importing
from mailgate.shop_tables import BookingAddon, SeatClaim
from tests.conftest import write_config
from tests.ledger.conftest import AUTHN

JST = ZoneInfo("Asia/Tokyo")
HOURS = """[shop.hours]
mon = "10:00-20:00"
tue = "10:00-20:00"
wed = "10:00-20:00"
thu = "10:00-20:00"
fri = "10:00-20:00"
sat = "10:00-20:00"
sun = "10:00-20:00"
"""
SHOP = f"""staff = [{{ name = "佐藤" }}, {{ name = "田中" }}]
[[shop.menus]]
name = "整体"
minutes = 60
price = 6000
addons = [
  {{ name = "タオルレンタル", price = 200, stock = 1 }},
  {{ name = "アロマ", price = 500, stock = 5 }},
]
[[shop.menus]]
name = "体験"
minutes = 30
confirm = "tentative"
addons = [{{ name = "ガウン", stock = 1 }}]
{HOURS}"""
RACERS = 20
# Twenty people, each free: twenty different times of one day that all overlap (2 hours, 5 minutes apart).
RACE_SHOP = (
    "staff = [" + ", ".join(f'{{ name = "s{n}" }}' for n in range(RACERS)) + "]\n"
    + """[[shop.menus]]
name = "岩盤浴"
minutes = 120
grid = 5
addons = [{ name = "タオルレンタル", price = 200, stock = 1 }]
"""
    + HOURS
)  # fmt: skip
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=JST)
THU = datetime(2026, 12, 3, 13, 0, tzinfo=JST)
WEB = Actor("link:login:1")
TOWEL = ("タオルレンタル",)


def shop_of(tmp_path: Path, db_url: str, shop: str) -> Context:
    return Context.build(config.load(write_config(tmp_path / "shop", AUTHN, db_url=db_url, shop=shop)))


@pytest.fixture
def salon(tmp_path: Path, db_url: str) -> Context:
    return shop_of(tmp_path, db_url, SHOP)


def book(ctx: Context, start: datetime = THU, *, n: int = 1, menu: str = "整体", **kw: object) -> Result:
    person = Person(name=f"客{n}", phone=f"0901234{n:04d}", email=f"g{n}@example.jp")
    cmd = fitting.FitBook(source="web", start=start, menu=menu, person=person, **kw)  # type: ignore[arg-type]
    with db.transaction(ctx.engine) as s:
        return fitting.book(s, ctx.ledger, cmd, WEB, NOW)


def towel_claims(ctx: Context, booking_id: int | None = None) -> int:
    with Session(ctx.engine) as s:
        stmt = select(func.count()).select_from(SeatClaim).where(col(SeatClaim.resource).startswith("addon:"))
        if booking_id is not None:
            stmt = stmt.where(SeatClaim.booking_id == booking_id)
        return int(s.exec(stmt).one())


def count(ctx: Context, table: type) -> int:
    with Session(ctx.engine) as s:
        return int(s.exec(select(func.count()).select_from(table)).one())


def test_an_add_on_is_booked_with_its_price_and_held_for_the_bookings_time(salon: Context) -> None:
    done = book(salon, addons=("アロマ", "タオルレンタル"))
    assert done.status == Status.CREATED
    with Session(salon.engine) as s:
        booking = s.get(Booking, done.booking_id)
        assert booking is not None and booking.price == 6000 + 200 + 500
        assert addons.names(s, booking.id) == ["タオルレンタル(200円)", "アロマ(500円)"]
    assert towel_claims(salon, done.booking_id) == 2 * 12  # two add-ons, 60 minutes in 5-minute grains


def test_the_last_item_taken_refuses_the_booking_with_code_addon_and_books_nothing(salon: Context) -> None:
    assert book(salon, n=1, addons=TOWEL, staff="佐藤").status == Status.CREATED
    later = book(salon, THU + timedelta(minutes=30), n=2, addons=TOWEL, staff="田中")
    assert (later.status, later.code, later.booking_id) == (Status.TAKEN, "addon", None)
    assert "タオルレンタル" in later.reason
    assert (count(salon, Booking), count(salon, BookingAddon)) == (1, 1)
    after = book(salon, THU + timedelta(hours=1), n=2, addons=TOWEL, staff="田中")
    assert after.status == Status.CREATED  # the first one's time is over: the towel is back


def test_a_cancel_gives_the_item_back(salon: Context) -> None:
    first = book(salon, n=1, addons=TOWEL, staff="佐藤")
    with db.transaction(salon.engine) as s:
        gone = fitting.cancel(s, salon.ledger, fitting.FitCancel(first.booking_id or 0), WEB, NOW)
    assert gone.status == Status.CANCELLED and towel_claims(salon) == 0
    assert book(salon, n=2, addons=TOWEL, staff="田中").status == Status.CREATED


def test_a_tentative_hold_holds_its_item_until_it_expires(salon: Context) -> None:
    gown = {"menu": "体験", "addons": ("ガウン",)}
    held = book(salon, n=1, staff="佐藤", **gown)
    assert (held.status, held.state, towel_claims(salon)) == (Status.CREATED, "tentative", 6)
    assert (book(salon, n=2, staff="田中", **gown).code) == "addon"
    with db.transaction(salon.engine) as s:
        assert fitting.expire_due(s, NOW + timedelta(hours=1)) == [held.booking_id]
    assert towel_claims(salon) == 0
    assert book(salon, n=2, staff="田中", **gown).status == Status.CREATED


def test_an_add_on_the_menu_does_not_have_is_refused(salon: Context) -> None:
    wrong = book(salon, addons=("ガウン",))  # 体験's, not 整体's
    assert (wrong.status, wrong.code, count(salon, Booking)) == (Status.REFUSED, "menu", 0)


def move(ctx: Context, booking_id: int | None, start: datetime) -> Result:
    with db.transaction(ctx.engine) as s:
        return fitting.move(s, ctx.ledger, fitting.FitMove(booking_id or 0, start), WEB, NOW)


def test_a_move_claims_the_add_on_again_for_the_new_time_or_is_refused(salon: Context) -> None:
    first = book(salon, n=1, addons=TOWEL, staff="佐藤")
    book(salon, THU + timedelta(hours=2), n=2, addons=TOWEL, staff="田中")
    clash = move(salon, first.booking_id, THU + timedelta(hours=2, minutes=30))
    assert (clash.status, clash.code) == (Status.TAKEN, "addon")
    with Session(salon.engine) as s:
        kept = s.get(Booking, first.booking_id)
        assert kept is not None and kept.start == THU and kept.price == 6200
    assert towel_claims(salon, first.booking_id) == 12  # still the old time's
    assert move(salon, first.booking_id, THU + timedelta(hours=4)).status == Status.MOVED
    with Session(salon.engine) as s:
        held = s.exec(select(SeatClaim).where(SeatClaim.booking_id == first.booking_id)).all()
    towel = {c.unit for c in held if c.resource.startswith("addon:")}
    assert towel == {c.unit for c in held if c.resource.startswith("staff:")}  # the new time's grains
    # The old time's towel is free again.
    assert book(salon, THU, n=3, addons=TOWEL, staff="佐藤").status == Status.CREATED


def test_the_last_add_on_item_raced_by_many_at_once_is_handed_out_once(tmp_path: Path, db_url: str) -> None:
    ctx = shop_of(tmp_path, db_url, RACE_SHOP)
    results: list[Result] = []
    start = threading.Barrier(RACERS, timeout=60)

    def attempt(n: int) -> None:
        start.wait()
        at = THU + timedelta(minutes=5 * n)  # each their own time and person; all overlap
        results.append(book(ctx, at, n=n, menu="岩盤浴", staff=f"s{n}", addons=TOWEL))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == RACERS
    assert [r.status for r in results].count(Status.CREATED) == 1
    assert {(r.status, r.code) for r in results if r.status != Status.CREATED} == {(Status.TAKEN, "addon")}
    assert (count(ctx, Booking), count(ctx, BookingAddon)) == (1, 1)


def test_an_add_on_left_out_of_the_config_is_no_longer_offered_after_an_import(salon: Context) -> None:
    shop = salon.cfg.shop
    menus = [m.model_copy(update={"addons": m.addons[1:]}) for m in shop.menus]  # the towel goes
    with db.transaction(salon.engine) as s:
        report = importing.import_shop(s, shop.model_copy(update={"menus": menus}), ())
        offered = {m.name: [a.name for a in m.addons] for m in calendar_db.load(s, JST).menus}
    assert "menu 整体: add-on タオルレンタル no longer offered" in report.lines
    assert offered == {"整体": ["アロマ"], "体験": []}
