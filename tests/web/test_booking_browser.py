"""Booking through the pages in headless Chromium at 240×320, against a running `mailgate serve`: a
registered customer books, changes by the mailed link (the old link is refused after) and cancels
from マイページ; a guest's hold runs out and its seat is offered again."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from mailgate import config, jobs
from mailgate.context import Context
from mailgate.models import utcnow
from mailgate.web.choosing import day_label
from tests.conftest import Served, start_serve, starts_a_server, wait_for, write_config
from tests.e2e.helpers import outbox_files
from tests.web.booking_shop import bookings
from tests.web.test_app import active_customer
from tests.web.test_browser import CHROMIUM, LAUNCH_ARGS

pytestmark = pytest.mark.e2e  # starts real servers

# Open every day, holidays too, with no deadlines but the start: the test runs at any time of day.
SHOP = """phone = "03-1234-5678"
[[shop.staff]]
name = "佐藤"
[[shop.staff]]
name = "田中"
[[shop.menus]]
name = "整体"
minutes = 60
grid = 60
price = 6000
ahead_days = 30
[shop.hours]
mon = "09:00-18:00"
tue = "09:00-18:00"
wed = "09:00-18:00"
thu = "09:00-18:00"
fri = "09:00-18:00"
sat = "09:00-18:00"
sun = "09:00-18:00"
holiday = "09:00-18:00"
"""
EMAIL = "hanako@ezweb.ne.jp"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Context]]:
    """One server for the module (SQLite: the route tests run the pages on both databases)."""
    path = write_config(tmp_path_factory.mktemp("booking") / "shop", shop=SHOP)
    served = start_serve(path)
    try:
        yield served, Context.build(config.load(path))
    finally:
        served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    starts_a_server("Chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A 240×320 screen, as a feature phone's browser, with nothing kept from another test."""
    context = browser.new_context(viewport={"width": 240, "height": 320})
    try:
        yield context.new_page()
    finally:
        context.close()


def mails_to(served: Served, to: str) -> list[str]:
    """The text parts of the mails written to the outbox for `to`, oldest first."""
    out = []
    for path in outbox_files(served.outbox):
        msg = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(msg, EmailMessage)
        if to in str(msg["To"]):
            part = msg.get_body(preferencelist=("plain",))
            assert part is not None
            out.append(str(part.get_content()))  # type: ignore[attr-defined]
    return out


def link(text: str, prefix: str) -> str:
    [url] = re.findall(rf"https?://\S+/{prefix}/\S+", text)
    return url


def fits(pg: Page) -> None:
    """Usable at 240 pixels: nothing wider than the screen."""
    assert pg.evaluate("document.documentElement.scrollWidth") <= 240
    assert len(pg.content().encode()) < 10 * 1024


def go(pg: Page, name: str) -> None:
    pg.get_by_role("link", name=name, exact=True).first.click()
    pg.wait_for_load_state()
    fits(pg)


def press(pg: Page, name: str) -> None:
    pg.get_by_role("button", name=name).click()
    pg.wait_for_load_state()
    fits(pg)


def first_time(pg: Page) -> str:
    """Chooses the first free time listed: its label."""
    first = pg.locator("ul.pick a").first
    label = first.inner_text()
    first.click()
    pg.wait_for_load_state()
    fits(pg)
    return label


def test_a_customer_books_changes_by_link_and_cancels_in_chromium(
    shop: tuple[Served, Context], phone: Page
) -> None:
    served, ctx = shop
    pg = phone
    customer_id, login = active_customer(ctx, EMAIL)
    day = day_label(utcnow().astimezone(ctx.cfg.tz).date() + timedelta(days=3))

    pg.goto(served.base_url + login)
    pg.get_by_label("暗証番号").fill("1234")
    press(pg, "開く")
    assert pg.locator("h1").inner_text() == "マイページ"
    go(pg, "新しく予約する")
    go(pg, "整体(60分 6,000円)")
    go(pg, day)
    go(pg, "指名なし(どなたでも)")
    first_time(pg)
    assert "合計 6,000円" in pg.content()
    press(pg, "予約する")
    assert pg.locator("h1").inner_text() == "ご予約を承りました"
    [booked] = [b for b in bookings(ctx) if b.source == "web" and b.customer_id == customer_id]
    assert booked.status == "confirmed"
    go(pg, "マイページへ戻る")
    assert f"{booked.start.astimezone(ctx.cfg.tz):%H:%M}〜" in pg.locator("dl").first.inner_text()

    # The confirmation mail's change link: a new time; its old cancel link is refused after.
    [mail] = wait_for(lambda: [m for m in mails_to(served, EMAIL) if "/h/" in m])
    pg.goto(link(mail, "h"))
    fits(pg)
    go(pg, day)
    go(pg, "佐藤")
    pg.locator("ul.pick a").last.click()  # the last time of the day
    pg.wait_for_load_state()
    press(pg, "この内容に変更する")
    assert pg.locator("h1").inner_text() == "ご予約を変更しました"
    [moved] = [b for b in bookings(ctx) if b.id == booked.id]
    assert moved.start != booked.start and moved.version == 2
    pg.goto(link(mail, "x"))
    fits(pg)
    assert "このリンクは使えなくなりました" in pg.content()

    # Cancel from マイページ, by its button.
    pg.goto(served.base_url + login)
    pg.get_by_label("暗証番号").fill("1234")
    press(pg, "開く")
    shown = pg.locator("dl").first.inner_text()
    assert f"{moved.start.astimezone(ctx.cfg.tz):%H:%M}〜" in shown and "佐藤" in shown
    go(pg, "キャンセル")
    press(pg, "キャンセルする")
    assert pg.locator("h1").inner_text() == "キャンセルしました"
    assert [b.status for b in bookings(ctx) if b.id == booked.id] == ["cancelled"]


def test_a_guest_hold_expires_and_its_seat_is_offered_again_in_chromium(
    shop: tuple[Served, Context], phone: Page
) -> None:
    served, ctx = shop
    pg = phone
    day = day_label(utcnow().astimezone(ctx.cfg.tz).date() + timedelta(days=4))

    def choose() -> str:
        pg.goto(served.base_url + "/")
        go(pg, "ご予約(会員登録なし)")
        go(pg, "整体(60分 6,000円)")
        go(pg, day)
        go(pg, "佐藤")
        return first_time(pg)

    held = choose()
    pg.get_by_label("お名前").fill("鈴木 一郎")
    pg.get_by_label("フリガナ").fill("スズキ イチロウ")
    pg.get_by_label("電話番号").fill("090-1111-2222")
    pg.get_by_label("メールアドレス").fill("ichiro@example.jp")
    press(pg, "仮予約する")
    assert pg.locator("h1").inner_text() == "仮予約を受け付けました"
    [mail] = wait_for(lambda: mails_to(served, "ichiro@example.jp"))

    # The hold is not confirmed in time: the job (run here at a later time) frees the seat.
    [hold] = [b for b in bookings(ctx) if b.status == "tentative"]
    assert hold.status == "tentative" and hold.expires_at is not None
    assert jobs.expire_tentative(ctx, hold.expires_at + timedelta(minutes=1)) == [hold.id]
    pg.goto(link(mail, "k"))
    fits(pg)
    assert "確定の期限が過ぎて取り消されています" in pg.content()
    assert choose() == held  # the same first time is free again
