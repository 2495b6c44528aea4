"""A menu's questions on the confirmation page (choice, checkbox, free text, no script): a required
one left out is asked again with the rest kept, the answers are kept with the booking and staff read
them in the booking alert and in `mailgate bookings`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from mailgate.context import Context
from mailgate.ledger import answers, listing
from mailgate.web.app import create_app
from tests.web import booking_shop as pages
from tests.web.booking_shop import Clock, bookings, sqlite_only
from tests.web.test_booking_pages import confirming

QUESTIONS = """questions = [
  { text = "ご来店は初めてですか", kind = "choice", options = ["はい", "いいえ"], required = true },
  { text = "気になるところ", kind = "checkbox", options = ["肩", "腰", "首"] },
  { text = "ご要望", kind = "text" },
]
"""
GUEST = {"name": "鈴木 一郎", "name_kana": "すずき いちろう", "phone": "090-1111-2222"}


@pytest.fixture
def asking_shop(tmp_path: Path, db_url: str) -> Context:
    shop = pages.SHOP.replace("ahead_days = 30\n", "ahead_days = 30\n" + QUESTIONS, 1)
    return pages.booking_context(tmp_path / "shop", db_url, shop=shop)


@pytest.fixture
def asking_client(asking_shop: Context, clock: Clock) -> TestClient:
    return TestClient(create_app(asking_shop, clock), raise_server_exceptions=True)


@sqlite_only
def test_a_guest_answers_the_menus_questions_and_staff_read_the_answers(
    asking_shop: Context, asking_client: TestClient
) -> None:
    w = pages.Walker(asking_client)
    w.get("/book")
    w.choose("整体(60分 6,000円)", "佐藤", "12/3(木)", "13:00")
    assert "ご来店は初めてですか(必須)" in w.page and 'type="radio" name="q0" value="はい"' in w.page
    assert 'type="checkbox" name="q1_1"' in w.page and 'type="text" id="q2"' in w.page
    w.submit(400, **GUEST, email="ichiro@example.jp", q1_1="1", q2="強めで")
    assert "ご来店は初めてですか: お答えください。" in w.page and not bookings(asking_shop)
    assert 'name="q1_1" value="1" checked' in w.page and 'value="強めで"' in w.page  # kept
    w.submit(**GUEST, email="ichiro@example.jp", q0="はい", q1_1="1", q1_2="1", q2="強めで")
    assert "<h1>仮予約を受け付けました</h1>" in w.page
    [booking] = bookings(asking_shop)
    expected = ["ご来店は初めてですか: はい", "気になるところ: 腰、首", "ご要望: 強めで"]
    with Session(asking_shop.engine) as s:
        assert answers.lines(s, booking.id) == expected
        [row] = listing.bookings_on(s, asking_shop.cfg.tz, None)
        assert row["answers"] == expected
    [alert] = pages.outbox(asking_shop, "staff@shop.example")
    assert "ご質問への回答:\n  ご来店は初めてですか: はい\n  気になるところ: 腰、首" in pages.mail_text(
        asking_shop, alert
    ).replace("\r\n", "\n")


@sqlite_only
def test_an_answer_that_was_not_offered_is_refused(asking_shop: Context, asking_client: TestClient) -> None:
    w = confirming(asking_shop, asking_client)
    w.submit(400, q0="たぶん")
    assert "選択肢からお選びください" in w.page and not bookings(asking_shop)
    w.submit(q0="いいえ")
    assert "<h1>ご予約を承りました</h1>" in w.page
    with Session(asking_shop.engine) as s:
        assert answers.lines(s, bookings(asking_shop)[0].id) == ["ご来店は初めてですか: いいえ"]
