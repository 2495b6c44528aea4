"""The registration and personal pages in a real headless Chromium, against a real uvicorn server."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from mailgate.context import Context
from mailgate.web.app import create_app
from tests.conftest import starts_a_server
from tests.ports import free_port
from tests.web.test_app import get_customer, make_context, pending_customer

pytestmark = pytest.mark.e2e  # starts real servers

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Site:
    ctx: Context
    base_url: str


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    ctx = make_context(tmp_path / "shop", db_url, base_url)
    server = uvicorn.Server(
        uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).text == "ok":
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("uvicorn did not start answering within 15 s")
        time.sleep(0.05)
    try:
        yield Site(ctx, base_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def page() -> Iterator[tuple[Page, list[str]]]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install the distribution's chromium package "
            "(this test never downloads a browser with `playwright install`)"
        )
    console: list[str] = []
    starts_a_server("Chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            pg = browser.new_page()

            def on_console(msg: ConsoleMessage) -> None:
                console.append(f"{msg.type}: {msg.text}")

            pg.on("console", on_console)
            pg.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
            yield pg, console
        finally:
            browser.close()


def test_register_then_open_the_personal_page_in_chromium(site: Site, page: tuple[Page, list[str]]) -> None:
    pg, console = page
    customer_id, _, signed = pending_customer(site.ctx)

    pg.goto(f"{site.base_url}/r/{signed}")
    assert pg.title().startswith("会員登録")
    # First attempt: the reading in latin letters.
    pg.get_by_label("お名前").fill("山田 太郎")
    pg.get_by_label("フリガナ").fill("Yamada")
    pg.get_by_label("電話番号").fill("090-1234-5678")
    pg.get_by_label("暗証番号(4桁の数字)").fill("2580")
    pg.get_by_label("暗証番号(確認)").fill("2580")
    pg.get_by_role("button", name="登録する").click()
    pg.wait_for_load_state()
    error = pg.locator("#name_kana-err")
    assert error.inner_text() == "フリガナはカタカナ(またはひらがな)で入力してください。"
    # The stylesheet loaded under the CSP (style-src 'self'): the message is red by CSS, not only <font>.
    assert error.evaluate("e => getComputedStyle(e).color") == "rgb(204, 0, 0)"
    assert pg.locator(".summary").is_visible()
    assert pg.get_by_label("お名前").input_value() == "山田 太郎"  # kept
    assert pg.get_by_label("暗証番号(4桁の数字)").input_value() == ""  # never echoed
    assert get_customer(site.ctx, customer_id).status == "pending"

    # Second attempt: corrected.
    pg.get_by_label("フリガナ").fill("やまだ たろう")
    pg.get_by_label("暗証番号(4桁の数字)").fill("2580")
    pg.get_by_label("暗証番号(確認)").fill("2580")
    pg.get_by_role("button", name="登録する").click()
    pg.wait_for_load_state()
    assert "確認メールを送りました" in pg.content()
    link = pg.get_by_role("link", name="お客様専用ページ")
    href = link.get_attribute("href")
    assert href and re.fullmatch(rf"{re.escape(site.base_url)}/m/[\w.-]+", href), href
    stored = get_customer(site.ctx, customer_id)
    assert (stored.name, stored.name_kana, stored.phone) == ("山田太郎", "ヤマダタロウ", "09012345678")

    # The personal (bookmark) page asks only for the PIN.
    link.click()
    pg.wait_for_load_state()
    assert pg.url == href
    assert pg.locator("input[type=text], input[type=tel]").count() == 0
    pg.get_by_label("暗証番号").fill("2580")
    pg.get_by_role("button", name="開く").click()
    pg.wait_for_load_state()
    assert pg.locator("h1").inner_text() == "マイページ"
    assert "山田太郎" in pg.content() and "090******78" in pg.content()
    assert pg.get_by_role("link", name="登録内容の変更・暗証番号の変更・退会").is_visible()

    violations = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    assert violations == [], violations
    # The only failed load is the form re-shown with status 400; no script ran, none failed.
    errors = [m for m in console if m.startswith(("error", "pageerror"))]
    expected = "error: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    assert errors == [expected], console
