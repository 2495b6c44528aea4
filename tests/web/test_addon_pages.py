"""Add-ons on the confirmation page: checkboxes with their price (no script), the total, the booking
with them, and the words when the last one was just taken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mailgate.context import Context
from mailgate.web.app import create_app
from tests.web.booking_shop import (
    SHOP,
    Clock,
    Walker,
    booking_context,
    bookings,
    mail_text,
    outbox,
    sqlite_only,
)
from tests.web.test_booking_pages import confirming

ADDONS = 'addons = [{ name = "タオルレンタル", price = 200, stock = 1 }]\n'
GUEST = {"name": "鈴木 一郎", "name_kana": "すずき いちろう", "phone": "090-1111-2222"}


@pytest.fixture
def towel_shop(tmp_path: Path, db_url: str) -> Context:
    return booking_context(
        tmp_path / "shop", db_url, shop=SHOP.replace("ahead_days = 30\n", "ahead_days = 30\n" + ADDONS, 1)
    )


@pytest.fixture
def towel_client(towel_shop: Context, clock: Clock) -> TestClient:
    return TestClient(create_app(towel_shop, clock), raise_server_exceptions=True)


def to_confirm(client: TestClient, staff: str) -> tuple[Walker, str]:
    w = Walker(client)
    w.get("/book")
    w.choose("整体(60分 6,000円)", staff, "12/3(木)", "13:00")
    [box] = re.findall(r'<input type="checkbox" name="(\w+)" value="1">', w.page)
    return w, box


@sqlite_only
def test_the_confirmation_page_offers_the_add_on_and_the_booking_takes_it_in_the_total(
    towel_shop: Context, towel_client: TestClient
) -> None:
    w, box = to_confirm(towel_client, "佐藤")
    assert "タオルレンタル(+200円)" in w.page and "合計 6,000円" in w.page
    ticked = w.get(f"{w.url}&{box}=1")  # a ticked box carried in the query counts in the total
    assert "合計 6,200円" in ticked and f'name="{box}" value="1" checked' in ticked
    w.submit(**GUEST, email="ichiro@example.jp", **{box: "1"})
    assert "<h1>仮予約を受け付けました</h1>" in w.page
    assert "タオルレンタル(200円)" in w.page and "6,200円" in w.page
    [booking] = bookings(towel_shop)
    assert booking.price == 6200
    [mail] = outbox(towel_shop, "ichiro@example.jp")
    assert "オプション: タオルレンタル(200円)" in mail_text(towel_shop, mail)
    [alert] = outbox(towel_shop, "staff@shop.example")
    assert "オプション: タオルレンタル(200円)" in mail_text(towel_shop, alert)


@sqlite_only
def test_the_last_add_on_just_taken_is_said_in_japanese_and_nothing_is_booked(
    towel_shop: Context, towel_client: TestClient
) -> None:
    first, box = to_confirm(towel_client, "佐藤")
    second, _ = to_confirm(towel_client, "田中")
    first.submit(**GUEST, email="ichiro@example.jp", **{box: "1"})
    second.submit(409, **{**GUEST, "phone": "090-3333-4444"}, email="jiro@example.jp", **{box: "1"})
    assert "ご希望のオプション(タオルレンタル)は、ちょうど品切れになりました" in second.page
    assert len(bookings(towel_shop)) == 1


@sqlite_only
def test_a_member_books_with_the_add_on_and_a_change_keeps_it_in_the_total(
    towel_shop: Context, towel_client: TestClient
) -> None:
    w = confirming(towel_shop, towel_client)
    [box] = re.findall(r'<input type="checkbox" name="(\w+)" value="1">', w.page)
    w.submit(**{box: "1"})
    assert "<h1>ご予約を承りました</h1>" in w.page and "タオルレンタル(200円)" in w.page
    [booking] = bookings(towel_shop)
    assert booking.price == 6200
    w.click("マイページへ戻る")
    w.click("変更")
    w.click("12/3(木)")
    w.click("佐藤")
    w.click("15:00")
    assert "合計 6,200円" in w.page and 'type="checkbox"' not in w.page
    w.submit()
    assert "<h1>ご予約を変更しました</h1>" in w.page and "15:00" in w.page
    [moved] = bookings(towel_shop)
    assert moved.price == 6200
