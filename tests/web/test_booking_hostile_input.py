"""Hostile query strings and forms on the booking pages get a page, never a server error: numbers
past any range, dates that are not dates, times past 99:99, long and odd text, a form posted with
its own CSRF token but nonsense choices. Every page stays under 10 KB."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.e2e.helpers import forms
from tests.web.booking_shop import Walker, sqlite_only

pytestmark = sqlite_only  # what is read from the query is checked before any query is made

LONG = "９" * 10_000  # posted
LONG_Q = "９" * 500  # in a URL: 27 KB once encoded
QUERIES = [
    {"menu": "99999999999999999999999999"},
    {"menu": "-1"},
    {"menu": "1", "day": "99999999"},
    {"menu": "1", "day": "20261332"},
    {"menu": "1", "day": "00010101"},
    {"menu": "1", "day": "20261203", "staff": "any", "time": "9999"},
    {"menu": "1", "day": "20261203", "staff": "any", "time": "2460"},
    {"menu": "1", "day": "20261203", "staff": "any", "time": "0000", "after": "9999"},
    {"menu": "1", "day": "20261203", "staff": "99999999999999999999"},
    {"menu": "1", "from": "99991231"},
    {"menu": "1", "from": "00000000"},
    {"menu": "1", "from": "00010101"},
    {"menu": "1", "day": "99991231", "staff": "any"},
    {"menu": LONG_Q, "day": LONG_Q, "staff": LONG_Q, "time": LONG_Q, "from": LONG_Q, "after": LONG_Q},
    {"menu": "1\x00", "day": "2026\u202e1203"},
]


@pytest.mark.parametrize("query", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
def test_odd_choices_in_the_query_get_a_page(shop_client: TestClient, query: dict[str, str]) -> None:
    page = shop_client.get("/book", params=query)
    assert page.status_code < 500 and len(page.content) < 10_240, page.text


@pytest.mark.parametrize("query", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
def test_odd_choices_posted_with_a_good_csrf_token_get_a_page(
    shop_client: TestClient, query: dict[str, str]
) -> None:
    w = Walker(shop_client)
    w.get("/")
    w.click("ご予約(会員登録なし)")
    w.choose("整体(60分 6,000円)", "佐藤", "12/3(木)", "13:00")
    [form] = [f for f in forms(w.page) if "csrf" in f["fields"]]
    fields = {**form["fields"], **query, "name": LONG, "name_kana": LONG, "phone": LONG, "email": "@"}
    done = shop_client.post("/book", data=fields)
    assert done.status_code < 500 and len(done.content) < 10_240, done.text
    assert done.status_code != 200  # nothing here books
