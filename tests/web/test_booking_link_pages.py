"""The links a booking's mails carry: /k/ confirm, /h/ change, /x/ cancel. GET shows, POST acts; each
works once and only for the version of the booking it was mailed with; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient

from mailgate import db
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.ledger import fitting
from mailgate.models import Customer
from tests.web.booking_shop import (
    NOW,
    PHONE,
    THU,
    Clock,
    Walker,
    bookings,
    link_in,
    mail_text,
    outbox,
    sqlite_only,
)

EMAIL = "jiro@example.jp"


def booked(ctx: Context, menu: str = "整体", staff: str | None = "佐藤") -> dict[str, str]:
    """A customer's booking made by the ledger: the paths of the links its mail carries."""
    with db.transaction(ctx.engine) as s:
        customer = Customer(email=EMAIL, email_key=EMAIL, name="山本次郎", created_at=NOW)
        s.add(customer)
        s.flush()
        cmd = fitting.FitBook(source="web", start=THU, menu=menu, staff=staff, customer_id=customer.id)
        result = fitting.book(s, ctx.ledger, cmd, Actor("test"), NOW)
    assert result.booking_id is not None, result
    return mailed_links(ctx)


def mailed_links(ctx: Context) -> dict[str, str]:
    """The links of the newest mail to the customer."""
    body = mail_text(ctx, outbox(ctx, EMAIL)[-1])
    return {p: link_in(body, p) for p in ("k", "h", "x") if f"/{p}/" in body}


def test_the_change_link_moves_the_booking_and_the_old_links_stop_working(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    old = booked(shop_ctx)
    w = Walker(shop_client)
    w.get(old["h"])
    assert "変更前のご予約" in w.page and "日にちを選んでください" in w.page
    w.click("12/3(木)")
    w.click("佐藤")
    w.click("16:00")
    assert [b.start for b in bookings(shop_ctx)] == [THU]  # GET only shows
    w.submit()
    assert "<h1>ご予約を変更しました</h1>" in w.page
    [moved] = bookings(shop_ctx)
    assert (moved.start, moved.version, moved.status) == (THU + timedelta(hours=3), 2, "confirmed")

    new = mailed_links(shop_ctx)
    assert new["h"] != old["h"] and new["x"] != old["x"]
    w.get(old["h"], status=410)  # used for this change
    assert "使用済み" in w.page and PHONE in w.page
    w.get(old["x"], status=410)  # mailed for the booking as it was
    assert "ご予約が変更されたため、このリンクは使えなくなりました" in w.page and PHONE in w.page
    w.get(new["x"])
    assert "キャンセルの確認" in w.page and "16:00〜17:00" in w.page


def test_the_cancel_link_asks_then_cancels_once(shop_ctx: Context, shop_client: TestClient) -> None:
    links = booked(shop_ctx)
    w = Walker(shop_client)
    w.get(links["x"])
    assert "このご予約をキャンセルしますか" in w.page
    assert [b.status for b in bookings(shop_ctx)] == ["confirmed"]
    form = w.page
    w.submit()
    assert "<h1>キャンセルしました</h1>" in w.page
    assert [b.status for b in bookings(shop_ctx)] == ["cancelled"]
    w.page = form
    w.submit()  # the same form again (a double tap): the link is used, and says what it did
    assert "<h1>キャンセル済みです</h1>" in w.page and len(bookings(shop_ctx)) == 1
    w.get(links["h"], status=410)  # the change link of a cancelled booking
    assert "このご予約はキャンセル済みか" in w.page


def test_the_confirm_link_confirms_a_tentative_booking(shop_ctx: Context, shop_client: TestClient) -> None:
    links = booked(shop_ctx, menu="体験", staff=None)
    assert [b.status for b in bookings(shop_ctx)] == ["tentative"]
    w = Walker(shop_client)
    w.get(links["k"])
    assert "予約を確定する" in w.page
    w.submit()
    assert "<h1>ご予約が確定しました</h1>" in w.page
    assert [b.status for b in bookings(shop_ctx)] == ["confirmed"]
    confirmation = mailed_links(shop_ctx)
    assert set(confirmation) == {"h", "x"}  # the confirmation mail: change and cancel


@sqlite_only
def test_a_late_cancel_link_gives_the_shop_phone(
    shop_ctx: Context, shop_client: TestClient, clock: Clock
) -> None:
    links = booked(shop_ctx)
    w = Walker(shop_client)
    clock.now = THU - timedelta(hours=1)  # cancel_until = 2h
    w.get(links["x"], status=403)
    assert "期限を過ぎています" in w.page and PHONE in w.page
    w.get(links["h"], status=403)
    assert PHONE in w.page
    assert [b.status for b in bookings(shop_ctx)] == ["confirmed"]


@sqlite_only
def test_booking_links_take_get_and_post_only(shop_ctx: Context, shop_client: TestClient) -> None:
    links = booked(shop_ctx)
    for path in links.values():
        r = shop_client.delete(path)
        assert r.status_code == 405
        assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}
