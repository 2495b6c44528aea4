"""`mailgate book` for a caller or a walk-in, on SQLite and PostgreSQL: the customer found by phone or
name (several: which one?) or created from the caller's details; `--force` books a taken or
off-hours time anyway, flagged as a conflict the ledger marks; a walk-in starts on the grid; and
`mailgate cancel` hands the freed seat to the first one waiting."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlmodel import Session, select

from mailgate import config, db
from mailgate.context import Context
from mailgate.ledger.callers import walk_in_start
from mailgate.models import Customer, utcnow
from tests.cli.test_desk import MINE, THU, customer_id, run, shop  # noqa: F401  (the fixture)
from tests.e2e.helpers import cli
from tests.ledger.test_fitting import JST
from tests.ledger.test_waitlist import customer, entry, join, offers_mailed, salon  # noqa: F401

BOOK = ("book", "--menu", "整体")


def test_a_caller_is_found_by_phone_or_name_or_created_from_their_details(shop: Path) -> None:  # noqa: F811
    me = customer_id(shop)
    by_phone = cli(shop, *BOOK, "--at", f"{THU} 10:00", "--phone", "090-1234-5678")
    by_name = cli(shop, *BOOK, "--at", f"{THU} 10:00", "--name", "山田　花子")
    assert by_phone["booking"]["customer_id"] == by_name["booking"]["customer_id"] == me

    code, said = run(shop, *BOOK, "--at", f"{THU} 12:00", "--phone", "080-1111-2222")
    assert code == 1 and "2 customers share" in said and "鈴木一郎" in said and "鈴木次郎" in said
    jiro = cli(shop, *BOOK, "--at", f"{THU} 12:00", "--phone", "08011112222", "--name", "鈴木次郎")
    saburo = cli(shop, *BOOK, "--at", f"{THU} 12:00", "--phone", "08011112222", "--name", "鈴木三郎")
    assert saburo["booking"]["customer_id"] not in (jiro["booking"]["customer_id"], me)  # the family's third
    new = cli(
        shop, *BOOK, "--at", f"{THU} 15:00", "--name", "新井 一", "--kana", "あらい はじめ", "--phone",
        "+81 70 1234 5678",
    )  # fmt: skip
    again = cli(shop, *BOOK, "--at", f"{THU} 17:00", "--phone", "070-1234-5678")
    assert new["booking"]["customer_id"] == again["booking"]["customer_id"]
    with Session(db.make_engine(config.load(shop).db_url)) as s:
        made = s.get(Customer, new["booking"]["customer_id"])
        named = s.get(Customer, jiro["booking"]["customer_id"])
    assert made is not None and named is not None and named.name == "鈴木次郎"
    assert (made.name, made.name_kana, made.phone, made.status) == (
        "新井一",
        "アライハジメ",
        "07012345678",
        "ledger",
    )

    code, _ = run(shop, *BOOK, "--at", f"{THU} 21:00", "--name", "閉店後", "--phone", "070-0000-1111")
    assert code == 1  # after hours: refused, and the caller it would have created is not kept
    with Session(db.make_engine(config.load(shop).db_url)) as s:
        assert s.exec(select(Customer).where(Customer.phone == "07000001111")).first() is None
    code, said = run(shop, *BOOK, "--at", f"{THU} 18:00", "--name", "誰でもない")
    assert code == 0 and "booked as" in said  # nobody by that name: a new ledger customer
    code, said = run(shop, *BOOK, "--at", f"{THU} 18:00")
    assert code == 2 and "who is booking?" in said


def test_force_books_a_taken_or_closed_time_flagged_as_a_conflict(shop: Path) -> None:  # noqa: F811
    me = str(customer_id(shop))
    cli(shop, *BOOK, "--customer", me, "--at", f"{THU} 13:00", "--staff", "佐藤")
    code, said = run(shop, *BOOK, "--customer", me, "--at", f"{THU} 13:30", "--staff", "佐藤")
    assert code == 1 and "ちょうど埋まりました" in said
    forced = cli(shop, *BOOK, "--customer", me, "--at", f"{THU} 13:30", "--staff", "佐藤", "--force")
    assert forced["status"] == "conflict" and "別の予約" in forced["conflicts"][0]
    late = cli(shop, *BOOK, "--customer", me, "--at", f"{THU} 20:30", "--staff", "田中", "--force")
    assert late["status"] == "conflict" and "営業時間外" in late["conflicts"][0]

    day = cli(shop, "ledger", "--date", THU)["staff"]
    marked = {
        e["id"]: bool(e["open_conflicts"]) for rows in day.values() for e in rows if e["kind"] == "booking"
    }
    assert marked[forced["booking_id"]] and marked[late["booking_id"]]
    open_ones = {c["booking"]["id"] for c in cli(shop, "conflicts")}
    assert {forced["booking_id"], late["booking_id"]} <= open_ones


def test_a_walk_in_starts_on_the_grid_nearest_now(shop: Path) -> None:  # noqa: F811
    ctx = Context.build(config.load(shop))
    cal, menu = ctx.calendar, ctx.calendar.menu_named("整体")
    assert menu is not None and menu.grid == 30
    thu = date.fromisoformat(THU)
    for now, start in ((time(13, 8), time(13, 0)), (time(13, 20), time(13, 30)), (time(10, 0), time(10, 0))):
        at = datetime.combine(thu, now, JST)
        assert walk_in_start(cal, menu, at) == datetime.combine(thu, start, JST)
    ctx.engine.dispose()


def test_cancel_frees_the_seat_for_the_first_one_waiting(salon: Context) -> None:  # noqa: F811
    cfg = salon.cfg.source
    day = date.today() + timedelta(days=14)
    day += timedelta(days=(3 - day.weekday()) % 7)  # a Thursday two to three weeks ahead: bookable
    at = f"{day} 13:00"
    a, b, waiter = customer(salon, 1), customer(salon, 2), customer(salon, 3)
    first = cli(cfg, *BOOK, "--customer", str(a), "--at", at, "--staff", "佐藤")
    cli(cfg, *BOOK, "--customer", str(b), "--at", at, "--staff", "田中")
    start = datetime.combine(day, time(13, 0), JST)
    assert join(salon, waiter, start, now=utcnow()).status == "created"

    assert cli(cfg, "cancel", str(first["booking_id"]))["status"] == "cancelled"
    assert entry(salon, waiter).state == "offered"
    assert len(offers_mailed(salon, waiter)) == 1
