"""`mailgate bookings search` on the generated month, on SQLite and PostgreSQL: a name found however it
is typed (kanji or kana, hiragana, half-width, spaces), a phone in any format, filters that combine,
and a limit that says how many more there are; `bookings --date` alone lists a day as before."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import jaconv
from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.ledger.booking_search import Query, search
from mailgate.models import Booking, Customer
from tests.cli.test_desk import run
from tests.e2e.helpers import cli


def _someone(month: Path) -> tuple[Customer, set[int]]:
    """A customer with several bookings, and every booking of anyone with their exact name."""
    with Session(db.make_engine(config.load(month).db_url)) as s:
        who = s.exec(select(Customer).where(Customer.id == 7)).one()
        namesakes = select(Customer.id).where(Customer.name == who.name)
        ids = set(s.exec(select(Booking.id).where(col(Booking.customer_id).in_(namesakes))))
    return who, {i for i in ids if i is not None}


def _found(month: Path, **given: Any) -> set[int]:
    """The ledger's search itself (the command's options are these fields): many ways to type one
    thing, without starting the command each time."""
    cfg = config.load(month)
    engine = db.make_engine(cfg.db_url)
    with Session(engine) as s:
        got = search(s, cfg.tz, Query(limit=1000, **given))
    engine.dispose()
    assert got.total == len(got.rows)
    return {r["id"] for r in got.rows}


def test_a_name_is_found_in_kanji_or_kana_with_or_without_spaces(month: Path) -> None:
    who, theirs = _someone(month)
    assert len(theirs) >= 2
    kana = who.name_kana
    typed = [
        who.name,
        f"{who.name[:2]}\u3000{who.name[2:]}",  # a full-width space between family and given name
        kana,
        f"{jaconv.kata2hira(kana[:3])} {jaconv.kata2hira(kana[3:])}",  # hiragana, a space
        jaconv.z2h(kana, kana=True, ascii=False, digit=False),  # half-width katakana
    ]
    for text in typed:
        assert _found(month, name=text) == theirs, text
    assert _found(month, name=who.name[:2]) > theirs
    said = cli(month, "bookings", "search", "--name", typed[3], "--limit", "1000")
    assert {r["id"] for r in said["bookings"]} == theirs and {r["customer"] for r in said["bookings"]} == {
        who.name
    }  # partial: the family name finds more


def test_phone_in_any_format_and_filters_that_combine(month: Path) -> None:
    who, _ = _someone(month)
    national = who.phone  # stored as digits: 090XXXXXXXX
    theirs = _found(month, phone=national)
    assert theirs
    dashed = f"{national[:3]}-{national[3:7]}-{national[7:]}"
    for text in (dashed, f"+81 {national[1:3]} {national[3:7]} {national[7:]}", national[-4:]):
        assert _found(month, phone=text) >= theirs, text
    assert _found(month, phone=dashed) == theirs

    one = cli(month, "bookings", "search", "--number", str(min(theirs)))["bookings"][0]
    day, staff = one["start_local"][:10], one["staff"]
    both = set(
        r["id"]
        for r in cli(
            month,
            "bookings",
            "search",
            "--phone",
            dashed,
            "--on",
            day,
            "--staff",
            staff,
            "--state",
            one["status"],
        )["bookings"]
    )
    assert min(theirs) in both and both <= theirs
    november = date(2031, 11, 30)
    assert _found(month, phone=dashed, day_from=november, day_to=november) == set()  # before the month
    made = one["created_local"][:10]
    assert one["id"] in _found(month, created=date.fromisoformat(made), phone=national)
    assert one["id"] in _found(month, changed=date.fromisoformat(one["changed_local"][:10]), phone=national)
    if one["external_id"]:
        assert _found(month, vendor_number=one["external_id"].lower()) == {one["id"]}


def test_a_limit_says_how_many_more_and_the_bare_form_still_lists_a_day(month: Path) -> None:
    page = cli(month, "bookings", "search", "--on", "2031-12-03", "--limit", "5")
    assert len(page["bookings"]) == 5 and page["more"] == page["total"] - 5 > 0
    code, said = run(month, "bookings", "search", "--on", "2031-12-03", "--limit", "5")
    assert code == 0 and f"{page['total']} bookings found" in said and "more: narrow the search" in said
    day = cli(month, "bookings", "--date", "2031-12-03")
    assert {r["id"] for r in day} >= {r["id"] for r in page["bookings"]}
    code, said = run(month, "bookings", "search", "--from", "2031-02-30")
    assert code == 2 and "expected a date" in said


def test_an_address_finds_the_bookings_of_whoever_has_it_as_email_1_or_linked(month: Path) -> None:
    """The same customer conditions as `customers search`: a customer who changed phones is found by
    the new address linked to them as well as by the old one."""
    who, _ = _someone(month)
    theirs = _found(month, phone=who.phone)
    assert run(month, "customers", "link", str(who.id), "New.Phone@Docomo.ne.jp")[0] == 0
    assert _found(month, email="new.phone@docomo") == theirs
    if who.email:
        assert _found(month, email=who.email.upper()) == theirs
