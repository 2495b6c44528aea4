"""Booking as a guest on the public page (/book): a tentative hold whose confirm link is mailed at once
and must be used within [booking] tentative_minutes; holds limited per mailbox, per client and in all;
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mailgate import jobs
from mailgate.context import Context
from mailgate.web.app import create_app
from tests.web.booking_shop import (
    NOW,
    Clock,
    Walker,
    booking_context,
    bookings,
    link_in,
    links,
    mail_text,
    outbox,
    sqlite_only,
)

GUEST = {"name": "鈴木 一郎", "name_kana": "すずき いちろう", "phone": "090-1111-2222"}
SEITAI = "整体(60分 6,000円)"


def guest_books(client: TestClient, email: str, time: str = "13:00", status: int = 200) -> Walker:
    w = Walker(client)
    w.get("/")
    w.click("ご予約(会員登録なし)")
    w.choose(SEITAI, "佐藤", "12/3(木)", time)
    assert "メールアドレス" in w.page and "30分以内" in w.page
    w.submit(status=status, **GUEST, email=email)
    return w


def confirm_link(ctx: Context, email: str) -> str:
    [mail] = outbox(ctx, email)
    return link_in(mail_text(ctx, mail), "k")


def test_a_guest_holds_a_time_until_the_mailed_link_confirms_it(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    w = guest_books(shop_client, "ichiro@example.jp")
    assert "<h1>仮予約を受け付けました</h1>" in w.page and "まだ確定していません" in w.page
    [hold] = bookings(shop_ctx)
    assert (hold.status, hold.source, hold.client) == ("tentative", "web", "testclient")
    assert hold.expires_at == NOW + timedelta(minutes=30)

    link = confirm_link(shop_ctx, "ichiro@example.jp")
    w.get(link)
    assert "ご予約の確定" in w.page and "2026年12月03日(木) 13:00〜14:00" in w.page
    assert [b.status for b in bookings(shop_ctx)] == ["tentative"]  # GET only shows
    w.submit()
    assert "<h1>ご予約が確定しました</h1>" in w.page
    assert [(b.status, b.client) for b in bookings(shop_ctx)] == [("confirmed", None)]  # address dropped
    w.get(link)  # used: it says what it did
    assert "<h1>ご予約は確定しています</h1>" in w.page and "13:00〜14:00" in w.page


def test_an_unconfirmed_hold_expires_and_frees_its_seat(
    shop_ctx: Context, shop_client: TestClient, clock: Clock
) -> None:
    guest_books(shop_client, "ichiro@example.jp")
    link = confirm_link(shop_ctx, "ichiro@example.jp")
    clock.now = NOW + timedelta(minutes=31)
    assert len(jobs.expire_tentative(shop_ctx, clock.now)) == 1
    assert [(b.status, b.client) for b in bookings(shop_ctx)] == [("expired", None)]
    w = Walker(shop_client)
    w.get(link, status=410)
    assert "有効期限" in w.page
    guest_books(shop_client, "jiro@example.jp")  # the same seat, free again
    assert [b.status for b in bookings(shop_ctx)] == ["expired", "tentative"]


def test_a_double_submitted_guest_form_holds_once(shop_ctx: Context, shop_client: TestClient) -> None:
    w = Walker(shop_client)
    w.get("/book")
    w.choose(SEITAI, "佐藤", "12/3(木)", "13:00")
    form = w.page
    w.submit(**GUEST, email="ichiro@example.jp")
    w.page = form
    w.submit(**GUEST, email="ichiro@example.jp")
    assert "<h1>仮予約を受け付けました</h1>" in w.page
    assert len(bookings(shop_ctx)) == 1 and len(outbox(shop_ctx, "ichiro@example.jp")) == 1


def test_one_open_hold_per_mailbox_whatever_the_case_or_tag(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    guest_books(shop_client, "ichiro@example.jp")
    w = guest_books(shop_client, "Ichiro+2@Example.JP", "15:00", status=429)
    assert "このメールアドレスには、確定待ちの仮予約があります" in w.page
    assert len(bookings(shop_ctx)) == 1


@pytest.mark.parametrize(
    ("setting", "refusal"),
    [
        ("guest_holds_per_client = 2", "この端末からの確定待ちの仮予約が多すぎます"),
        ("guest_holds_total = 2", "仮予約の受付が混み合っています"),
    ],
)
def test_holds_are_limited_per_client_and_in_all(
    tmp_path: Path, db_url: str, setting: str, refusal: str
) -> None:
    ctx = booking_context(tmp_path / "shop", db_url, extra=f"[booking]\n{setting}\n")
    client = TestClient(create_app(ctx, Clock()))
    guest_books(client, "a@example.jp", "10:00")
    guest_books(client, "b@example.jp", "12:00")
    w = guest_books(client, "c@example.jp", "15:00", status=429)
    assert refusal in w.page
    assert len(bookings(ctx)) == 2


@sqlite_only
def test_the_guest_form_asks_again_for_what_is_missing(shop_ctx: Context, shop_client: TestClient) -> None:
    w = Walker(shop_client)
    w.get("/book")
    w.choose(SEITAI, "佐藤", "12/3(木)", "13:00")
    w.submit(status=400, name="鈴木 一郎", name_kana="", phone="090-1111-2222", email="not an address")
    assert "メールアドレスが正しくありません" in w.page and 'value="鈴木 一郎"' in w.page
    assert bookings(shop_ctx) == []
    w.submit(**GUEST, email="ichiro@example.jp")
    assert "<h1>仮予約を受け付けました</h1>" in w.page
    assert len(bookings(shop_ctx)) == 1


def test_guests_can_be_turned_off(tmp_path: Path) -> None:
    ctx = booking_context(
        tmp_path / "shop", f"sqlite:///{tmp_path}/g.db", extra="[booking]\nguests = false\n"
    )
    client = TestClient(create_app(ctx, Clock()))
    w = Walker(client)
    w.get("/")
    assert "ご予約(会員登録なし)" not in links(w.page)
    w.get("/book", status=404)


@sqlite_only
def test_a_broken_booking_link_gets_a_page_not_an_error(shop_client: TestClient) -> None:
    for path in ("/k/garbage", "/h/Zm9v.bar.baz", "/x/"):
        r = shop_client.get(path)
        assert r.status_code == 404 and "<h1>" in r.text, path
