"""The booking pages after the PIN (/b/<signed>/...): マイページ with the customer's bookings from every
source, booking step by step, change and cancel, refusals in Japanese; on SQLite and PostgreSQL.
Every page a test opens is checked to be under 10 KB (Walker)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from mailgate import db
from mailgate.audit import Actor
from mailgate.cli import app
from mailgate.context import Context
from mailgate.ledger import booking_views
from mailgate.ledger import bookings as ledger_bookings
from mailgate.ledger.matching import Person
from mailgate.shop import shift_store
from mailgate.shop_tables import FixedSlot, MenuItem
from mailgate.web import choosing, csrf
from mailgate.web.app import create_app
from tests.web.booking_shop import (
    NOW,
    PHONE,
    SHOP,
    THU,
    Clock,
    Walker,
    booking_context,
    bookings,
    links,
    mail_text,
    outbox,
    sqlite_only,
)
from tests.web.test_app import active_customer

EMAIL = "hanako@ezweb.ne.jp"
SEITAI = "整体(60分 6,000円)"


def logged_in(ctx: Context, client: TestClient) -> Walker:
    """A registered customer on マイページ, after the right PIN on the personal link."""
    _, login = active_customer(ctx, EMAIL)
    w = Walker(client)
    w.get(login)
    w.submit(pin="1234")
    assert "<h1>マイページ</h1>" in w.page
    return w


def confirming(ctx: Context, client: TestClient, staff: str = "佐藤", time: str = "13:00") -> Walker:
    """A customer on the confirmation page of 整体 on Thursday 12/3."""
    w = logged_in(ctx, client)
    w.click("新しく予約する")
    w.choose(SEITAI, staff, "12/3(木)", time)
    return w


def vendor_booking(ctx: Context, hours: float = 0, days: int = 0, external_id: str = "R-1") -> int:
    """A STORES予約 notice's booking for the customer (matched by address)."""
    cmd = ledger_bookings.Book(
        source="stores",
        start=THU + timedelta(days=days, hours=hours),
        staff="田中",
        menu="整体",
        customer=Person(email=EMAIL),
        external_id=external_id,
    )
    with db.transaction(ctx.engine) as s:
        result = ledger_bookings.book(s, ctx.ledger, cmd, Actor("test"), NOW)
    assert result.booking_id is not None
    return result.booking_id


def test_a_customer_books_after_the_pin_and_mypage_lists_it(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    w = logged_in(shop_ctx, shop_client)
    assert "ご予約はありません" in w.page
    w.click("新しく予約する")
    assert "メニューを選んでください" in w.page
    w.click(SEITAI)
    assert "日にちを選んでください" in w.page
    assert "12/1(火) ×" in w.page and "12/1(火)" not in links(w.page)  # closed on Tuesdays
    w.click("12/3(木)")
    assert "担当を選んでください" in w.page and "指名なし(どなたでも)" in w.page
    w.click("佐藤")
    w.click("13:00")
    assert "<h1>ご予約内容の確認</h1>" in w.page and "合計 6,000円" in w.page
    w.submit()
    assert "<h1>ご予約を承りました</h1>" in w.page

    [booking] = bookings(shop_ctx)
    assert (booking.status, booking.source, booking.staff, booking.menu, booking.price) == (
        "confirmed",
        "web",
        "佐藤",
        "整体",
        6000,
    )
    assert booking.start == THU
    [mail] = [m for m in outbox(shop_ctx, EMAIL) if "予約" in m.subject]
    body = mail_text(shop_ctx, mail)
    assert "2026年12月03日(木) 13:00〜14:00" in body and "/h/" in body and "/x/" in body

    w.click("マイページへ戻る")
    assert "2026年12月03日(木) 13:00〜14:00" in w.page and "佐藤" in w.page
    assert {"変更", "キャンセル"} <= set(links(w.page))


def test_mypage_lists_bookings_from_vendor_notices_too(shop_ctx: Context, shop_client: TestClient) -> None:
    vendor_booking(shop_ctx)
    w = logged_in(shop_ctx, shop_client)
    assert "2026年12月03日(木) 13:00〜14:00" in w.page and "田中" in w.page
    w.click("キャンセル")
    w.submit()
    assert "<h1>キャンセルしました</h1>" in w.page
    assert [b.status for b in bookings(shop_ctx)] == ["cancelled"]
    w.click("マイページへ戻る")
    assert "ご予約はありません" in w.page


def test_anyone_books_whoever_is_free(shop_ctx: Context, shop_client: TestClient) -> None:
    vendor_booking(shop_ctx)  # 田中 is busy at 13:00
    w = confirming(shop_ctx, shop_client, "指名なし(どなたでも)")
    assert "指名なし" in w.page
    w.submit()
    assert [(b.staff, b.status) for b in bookings(shop_ctx)] == [("田中", "confirmed"), ("佐藤", "confirmed")]


def test_whoever_has_no_free_time_that_day_cannot_be_chosen(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    done = CliRunner().invoke(
        app, ["--config", str(shop_ctx.cfg.source), "shifts", "set", "田中", "2026-12-03", "off"]
    )
    assert done.exit_code == 0, done.output
    w = logged_in(shop_ctx, shop_client)
    w.click("新しく予約する")
    w.click(SEITAI)
    w.click("12/3(木)")
    assert "田中 ×" in w.page and "田中" not in links(w.page) and "佐藤" in links(w.page)
    w.click("一つ前に戻る")
    assert "日にちを選んでください" in w.page


def test_a_time_taken_meanwhile_gets_a_polite_page_and_fresh_times(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    w = confirming(shop_ctx, shop_client, "田中")
    vendor_booking(shop_ctx, hours=0.5)  # someone else takes 田中 at 13:30 meanwhile
    w.submit(status=409)
    assert "ちょうど埋まりました" in w.page and "時間を選んでください" in w.page
    times = set(links(w.page))
    assert "13:00" not in times and "12:00" in times and "15:00" in times
    assert [b.source for b in bookings(shop_ctx)] == ["stores"]


def test_a_double_submitted_confirmation_books_once(shop_ctx: Context, shop_client: TestClient) -> None:
    w = confirming(shop_ctx, shop_client)
    form_page = w.page
    w.submit()
    w.page = form_page
    w.submit()
    assert "<h1>ご予約を承りました</h1>" in w.page
    assert len(bookings(shop_ctx)) == 1


def test_change_from_mypage_moves_the_booking(shop_ctx: Context, shop_client: TestClient) -> None:
    vendor_booking(shop_ctx)
    w = logged_in(shop_ctx, shop_client)
    w.click("変更")
    assert "変更前のご予約" in w.page
    w.click("12/3(木)")
    w.click("田中")
    w.click("16:00")
    assert "<h1>変更内容の確認</h1>" in w.page
    w.submit()
    assert "<h1>ご予約を変更しました</h1>" in w.page
    [moved] = bookings(shop_ctx)
    assert (moved.start, moved.version) == (THU + timedelta(hours=3), 2)


def test_late_change_and_cancel_are_refused_with_the_shop_phone(
    shop_ctx: Context, shop_client: TestClient, clock: Clock
) -> None:
    booking_id = vendor_booking(shop_ctx)
    clock.now = THU - timedelta(hours=1)  # past 前日18:00 (change) and 2 hours before (cancel)
    w = logged_in(shop_ctx, shop_client)
    base = links(w.page)["新しく予約する"].removesuffix("/new")
    assert "変更" not in links(w.page) and "キャンセル" not in links(w.page)
    assert PHONE in w.page and "前日18:00まで" in w.page
    w.get(f"{base}/change/{booking_id}", status=403)
    assert PHONE in w.page and "期限を過ぎています" in w.page
    w.get(f"{base}/cancel/{booking_id}", status=403)
    assert PHONE in w.page
    assert [b.status for b in bookings(shop_ctx)] == ["confirmed"]


@sqlite_only
def test_the_booking_pages_link_runs_out_after_session_minutes(
    shop_ctx: Context, shop_client: TestClient, clock: Clock
) -> None:
    w = logged_in(shop_ctx, shop_client)
    book = links(w.page)["新しく予約する"]
    clock.now = NOW + timedelta(minutes=61)
    w.get(book, status=410)
    assert "暗証番号を入力してください" in w.page


def test_too_many_bookings_a_day_are_refused_in_words(shop_ctx: Context, shop_client: TestClient) -> None:
    w = logged_in(shop_ctx, shop_client)
    for time, status in (("10:00", 200), ("12:00", 200), ("15:00", 429)):
        w.click("新しく予約する")
        w.choose(SEITAI, "佐藤", "12/3(木)", time)
        w.submit(status=status)
        if status == 200:
            w.click("マイページへ戻る")
    assert "ご予約の上限に達しています" in w.page and "1日2件まで" in w.page and PHONE in w.page
    assert len(bookings(shop_ctx)) == 2


@sqlite_only
def test_booking_pages_take_get_and_post_only(shop_ctx: Context, shop_client: TestClient) -> None:
    w = logged_in(shop_ctx, shop_client)
    book = links(w.page)["新しく予約する"]
    r = shop_client.put(book)
    assert r.status_code == 405 and set(r.headers["allow"].replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
        "POST",
    }
    r = shop_client.delete("/book")
    assert r.status_code == 405 and set(r.headers["allow"].replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
        "POST",
    }
    home = book.rsplit("/", 1)[0]
    r = shop_client.post(home)
    assert r.status_code == 405 and "POST" not in r.headers["allow"] and "GET" in r.headers["allow"]


@sqlite_only
def test_a_posted_booking_without_a_csrf_token_books_nothing(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    w = confirming(shop_ctx, shop_client)
    w.submit(status=403, csrf="")
    assert bookings(shop_ctx) == []


@sqlite_only
def test_a_posted_day_too_far_or_too_late_is_refused_in_words(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    """The lists never offer such a day; a page left open too long (or a hand-made form) posts one."""
    w = confirming(shop_ctx, shop_client)
    form = w.page
    w.submit(status=400, day=f"{NOW + timedelta(days=40):%Y%m%d}")
    assert "ご予約は30日先まで承っています" in w.page
    w.page = form
    w.submit(status=403, day=f"{NOW:%Y%m%d}", time="1500")  # today: 前日18:00まで
    assert "ご予約の受付は前日18:00までです" in w.page and PHONE in w.page
    assert bookings(shop_ctx) == []


@sqlite_only
def test_the_longest_pages_stay_under_10_kb(tmp_path: Path, db_url: str) -> None:
    """マイページ with as many bookings as it lists, and a change page with as many times as it lists."""
    shop = SHOP.replace("grid = 30\nprice = 6000", "grid = 5\nprice = 6000").replace(
        'thu = "10:00-20:00"', 'thu = "06:00-23:30"'
    )
    ctx = booking_context(tmp_path / "long", db_url, shop=shop)
    client = TestClient(create_app(ctx, Clock()))
    for i in range(booking_views.MAX_LISTED + 2):
        vendor_booking(ctx, days=7 + i, external_id=f"R-{i}")
    w = logged_in(ctx, client)  # Walker checks every page's size
    assert w.page.count("<dt>日時</dt>") == booking_views.MAX_LISTED
    assert "ほかにもご予約があります" in w.page
    w.click("変更")
    w.click("12/3(木)")
    w.click("佐藤")
    assert w.page.count("<li>") == choosing.MAX_TIMES and "これより後の時間" in w.page


@sqlite_only
def test_a_customer_cannot_open_or_cancel_someone_elses_booking(
    shop_ctx: Context, shop_client: TestClient
) -> None:
    theirs = vendor_booking(shop_ctx)
    _, login = active_customer(shop_ctx, "other@docomo.ne.jp")
    w = Walker(shop_client)
    w.get(login)
    w.submit(pin="1234")
    base = links(w.page)["新しく予約する"].removesuffix("/new")
    w.get(f"{base}/cancel/{theirs}", status=404)
    w.get(f"{base}/change/{theirs}?day=20261203&staff=any&time=1600", status=404)
    token = csrf.make(shop_ctx.signer.secrets, "session", base.removeprefix("/b/"))
    r = shop_client.post(f"{base}/cancel/{theirs}", data={"version": "1", "csrf": token})
    assert r.status_code == 404
    assert [b.status for b in bookings(shop_ctx)] == ["confirmed"]


def test_a_fixed_slot_is_booked_by_its_seats_without_choosing_staff(tmp_path: Path, db_url: str) -> None:
    yoga = '[[shop.menus]]\nname = "ヨガ"\nminutes = 60\nprice = 1500\nkind = "slots"\n'
    ctx = booking_context(tmp_path / "yoga", db_url, shop=SHOP.replace("[shop.hours]", yoga + "[shop.hours]"))
    with db.transaction(ctx.engine) as s:
        menu = s.exec(select(MenuItem).where(MenuItem.name == "ヨガ")).one()
        assert menu.id is not None
        ten = THU - timedelta(hours=3)
        slot = FixedSlot(menu_id=menu.id, start=ten, end=ten + timedelta(hours=1), seats=2)
        s.add(slot)
        shift_store.bump(s)
    client = TestClient(create_app(ctx, Clock()))
    w = logged_in(ctx, client)
    w.click("新しく予約する")
    w.choose("ヨガ(60分 1,500円)", None, "12/3(木)", "10:00 残り2席")
    w.submit()
    assert "<h1>ご予約を承りました</h1>" in w.page
    [booked] = bookings(ctx)
    assert (booked.menu, booked.slot_id, booked.start) == ("ヨガ", slot.id, ten)
    w.click("マイページへ戻る")
    w.click("新しく予約する")
    w.click("ヨガ(60分 1,500円)")
    w.click("12/3(木)")
    assert "10:00 残り1席" in links(w.page)
