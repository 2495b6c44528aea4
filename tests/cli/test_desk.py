"""The shop's desk at the terminal — `mailgate book|change|cancel` — on SQLite and PostgreSQL: the
same ledger commands as the pages and the mail, the customer named by #ID, address or phone, a
taken time refused with the nearest free times, the customer mailed only when asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from mailgate import config, db
from mailgate.cli import app
from mailgate.context import Context
from mailgate.models import Customer, Outbox
from tests.conftest import write_config
from tests.e2e.helpers import cli
from tests.ledger.test_fitting import SHOP

THU = "2031-12-04"  # a Thursday far ahead: nothing here depends on today
MINE = "hanako@example.jp"
PHONE = "09012345678"


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Path:
    path = write_config(tmp_path / "shop", db_url=db_url, shop=SHOP)
    ctx = Context.build(config.load(path))
    with db.transaction(ctx.engine) as s:
        s.add(Customer(email=MINE, email_key=MINE, phone=PHONE, status="active", name="山田花子"))
        s.add(Customer(phone="08011112222", status="ledger", name="鈴木一郎"))
        s.add(Customer(phone="08011112222", status="ledger", name="鈴木次郎"))  # the same home phone
    ctx.engine.dispose()
    return path


def run(cfg: Path, *args: str) -> tuple[int, str]:
    """The command in-process, as an operator types it: (exit code, everything it printed)."""
    done = CliRunner().invoke(app, ["--config", str(cfg), *args])
    return done.exit_code, done.stdout + done.stderr


def refused(cfg: Path, *args: str) -> dict[str, Any]:
    """A command that must fail (exit 1), its --json answer."""
    done = CliRunner().invoke(app, ["--config", str(cfg), *args, "--json"])
    assert done.exit_code == 1, (done.stdout, done.stderr, done.exception)
    return json.loads(done.stdout)


def mails(cfg: Path) -> list[tuple[str, str]]:
    with Session(db.make_engine(config.load(cfg).db_url)) as s:
        return [(o.to_addr, o.template) for o in s.exec(select(Outbox).order_by(Outbox.id))]  # type: ignore[arg-type]


def customer_id(cfg: Path) -> int:
    with Session(db.make_engine(config.load(cfg).db_url)) as s:
        return s.exec(select(Customer.id).where(Customer.email_key == MINE)).one() or 0


def test_the_desk_books_changes_and_cancels_naming_the_customer_three_ways(shop: Path) -> None:
    me = customer_id(shop)
    by_id = cli(shop, "book", "--customer", str(me), "--menu", "整体", "--at", f"{THU} 13:00")
    assert (by_id["status"], by_id["state"]) == ("created", "confirmed")
    assert by_id["booking"] | {"id": 0} == {
        "id": 0,
        "start": f"{THU} 13:00",
        "end": "14:00",
        "zone": "Asia/Tokyo",  # the times are the shop's
        "menu": "整体",
        "staff": "佐藤",  # anyone: the first free person
        "customer_id": me,
        "status": "confirmed",
        "version": 1,
    }
    by_mail = cli(
        shop, "book", "--customer", MINE, "--menu", "整体", "--at", f"{THU} 13:00", "--staff", "anyone"
    )
    assert by_mail["booking"]["staff"] == "田中"
    by_phone = cli(shop, "book", "--customer", "090-1234-5678", "--menu", "整体", "--at", f"{THU} 15:00")
    assert by_phone["booking"]["customer_id"] == me

    moved = cli(shop, "change", str(by_id["booking_id"]), "--at", f"{THU} 16:00", "--staff", "田中")
    assert (moved["status"], moved["booking"]["start"], moved["booking"]["staff"]) == (
        "moved",
        f"{THU} 16:00",
        "田中",
    )
    assert moved["booking"]["version"] == 2
    gone = cli(shop, "cancel", str(by_mail["booking_id"]))
    assert (gone["status"], gone["booking"]["status"]) == ("cancelled", "cancelled")
    again = cli(shop, "cancel", str(by_mail["booking_id"]))
    assert again["status"] == "already"
    day = {
        (b["id"], b["status"], b["staff"], b["start_local"][11:])
        for b in cli(shop, "bookings", "--date", THU)
    }
    assert day == {
        (by_id["booking_id"], "confirmed", "田中", "16:00"),
        (by_mail["booking_id"], "cancelled", "田中", "13:00"),
        (by_phone["booking_id"], "confirmed", "佐藤", "15:00"),
    }
    assert mails(shop) == []  # nobody was mailed: --notify was not given


def test_a_taken_time_says_so_with_the_nearest_free_times_and_exits_1(shop: Path) -> None:
    me = str(customer_id(shop))
    first = cli(shop, "book", "--customer", me, "--menu", "整体", "--at", f"{THU} 13:00", "--staff", "佐藤")
    code, said = run(
        shop, "book", "--customer", me, "--menu", "整体", "--at", f"{THU} 13:00", "--staff", "さとう"
    )
    assert code == 1 and "ちょうど埋まりました" in said
    # 60 minutes and a 10-minute buffer on a 30-minute grid: 佐藤 is free until 11:30 and from 14:30.
    assert "nearest free times:\n" in said and f"  {THU} 11:30 佐藤\n  {THU} 14:30 佐藤\n" in said
    taken = refused(
        shop, "book", "--customer", me, "--menu", "整体", "--at", f"{THU} 12:30", "--staff", "佐藤"
    )
    assert (taken["status"], taken["code"]) == ("taken", "taken")
    assert [(o["start"][11:], o["staff"]) for o in taken["nearest"]] == [
        ("11:30", "佐藤"),  # an hour before
        ("11:00", "佐藤"),
        ("10:30", "佐藤"),  # two hours before: the earlier of two as near
        ("14:30", "佐藤"),  # two hours after
        ("10:00", "佐藤"),
    ]
    other = cli(shop, "book", "--customer", me, "--menu", "整体", "--at", f"{THU} 15:00", "--staff", "田中")
    stuck = refused(shop, "change", str(other["booking_id"]), "--at", f"{THU} 13:00", "--staff", "佐藤")
    assert stuck["status"] == "taken" and stuck["nearest"][0]["start"] == f"{THU} 11:30"
    # Moving a booking, its own time counts as free: 佐藤's booking can go half an hour later.
    later = cli(shop, "change", str(first["booking_id"]), "--at", f"{THU} 13:30")
    assert (later["status"], later["booking"]["staff"]) == ("moved", "佐藤")
    assert [b["start_local"][11:] for b in cli(shop, "bookings", "--date", THU)] == ["13:30", "15:00"]


def test_notify_mails_the_customer_the_booking_the_change_and_the_cancellation(shop: Path) -> None:
    me = str(customer_id(shop))
    done = cli(shop, "book", "--customer", me, "--menu", "整体", "--at", f"{THU} 13:00", "--notify")
    number = str(done["booking_id"])
    cli(shop, "change", number, "--at", f"{THU} 14:00", "--notify")
    cli(shop, "change", number, "--at", f"{THU} 15:00")
    cli(shop, "cancel", number, "--notify")
    assert mails(shop) == [
        (MINE, "booking_confirmed"),
        (MINE, "booking_changed"),
        (MINE, "booking_cancelled"),
    ]


def test_unknown_or_ambiguous_customers_menus_staff_and_bookings_are_refused(shop: Path) -> None:
    code, said = run(
        shop, "book", "--customer", "nobody@example.jp", "--menu", "整体", "--at", f"{THU} 13:00"
    )
    assert code == 1 and "no customer" in said
    code, said = run(shop, "book", "--customer", "080-1111-2222", "--menu", "整体", "--at", f"{THU} 13:00")
    assert code == 1 and "2 customers share" in said and "鈴木一郎" in said and "鈴木次郎" in said
    me = str(customer_id(shop))
    assert (
        refused(shop, "book", "--customer", me, "--menu", "カット", "--at", f"{THU} 13:00")["code"] == "menu"
    )
    no_one = refused(
        shop, "book", "--customer", me, "--menu", "整体", "--at", f"{THU} 13:00", "--staff", "山田"
    )
    assert no_one["code"] == "staff"
    assert refused(shop, "change", "999", "--at", f"{THU} 13:00")["status"] == "not_found"
    assert refused(shop, "cancel", "999")["status"] == "not_found"
    code, said = run(shop, "book", "--customer", me, "--menu", "整体", "--at", "木曜の1時")
    assert code == 2 and "expected a time like" in said
    for far in ("9999-12-31 10:00", "0001-01-01 10:00"):
        code, said = run(shop, "book", "--customer", me, "--menu", "整体", "--at", far)
        assert code == 2 and "not a year mailgate books in" in said
    assert cli(shop, "bookings", "--all") == []
