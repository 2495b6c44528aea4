"""A shop to book on through the pages (staff, menus with deadlines, hours), a clock the pages act at,
and helpers that read what a page offers. Used by the HTTP tests and the Chromium tests."""

from __future__ import annotations

import email
import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.policy import default
from pathlib import Path
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from mailgate import config
from mailgate.context import Context
from mailgate.models import Booking, Outbox
from mailgate.outbound.sender import Sender
from tests.conftest import write_config

JST = ZoneInfo("Asia/Tokyo")
PHONE = "03-1234-5678"
SHOP = f"""phone = "{PHONE}"
staff_alerts = ["staff@shop.example"]
staff_alert_minutes = 0
[[shop.staff]]
name = "佐藤"
[[shop.staff]]
name = "田中"
[[shop.menus]]
name = "整体"
minutes = 60
buffer = 10
grid = 30
price = 6000
book_until = "1d18:00"
change_until = "1d18:00"
cancel_until = "2h"
ahead_days = 30
[[shop.menus]]
name = "体験"
minutes = 30
grid = 30
price = 2000
confirm = "tentative"
staff = ["田中"]
[shop.hours]
mon = "10:00-20:00"
tue = "closed"
wed = "10:00-20:00"
thu = "10:00-20:00"
fri = "10:00-20:00"
sat = "10:00-18:00"
sun = "10:00-18:00"
"""
# A Wednesday morning; the bookings are on the Thursday of the week after (not a public holiday).
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
THU = datetime(2026, 12, 3, 13, 0, tzinfo=JST)
MAX_PAGE = 10 * 1024
# For what a page does rather than what the database does: SQLite is enough (the suite stays fast).
sqlite_only = pytest.mark.parametrize("dialect", ["sqlite"])


@dataclass
class Clock:
    """The time the pages act at: fixed, moved on by a test."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


def booking_context(
    directory: Path, db_url: str, base_url: str = "http://testserver", extra: str = "", shop: str = SHOP
) -> Context:
    web = f'\n[web]\nbase_url = "{base_url}"\n'
    path = write_config(directory, web + extra, db_url=db_url, shop=shop)
    return Context.build(config.load(path))


def small(text: str) -> str:
    """A page's HTML, after checking it is under 10 KB (feature phones)."""
    size = len(text.encode("utf-8"))
    assert size < MAX_PAGE, f"page is {size} bytes"
    return text


def links(page: str) -> dict[str, str]:
    """Each link's text -> its href."""
    found = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', page)
    return {html.unescape(text): html.unescape(href) for href, text in found}


def hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page)
    return {name: html.unescape(value) for name, value in found}


def bookings(ctx: Context) -> list[Booking]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Booking).order_by(col(Booking.id))))


def outbox(ctx: Context, to: str | None = None) -> list[Outbox]:
    with Session(ctx.engine) as s:
        stmt = select(Outbox).order_by(col(Outbox.id))
        if to is not None:
            stmt = stmt.where(Outbox.to_addr == to)
        return list(s.exec(stmt))


def mail_text(ctx: Context, row: Outbox) -> str:
    """The text of a queued mail as the sender sends it (links signed then)."""
    raw = Sender.build(ctx.cfg, ctx.engine).render(row, NOW)
    message = email.message_from_bytes(raw, policy=default)
    part = message if not message.is_multipart() else next(message.iter_parts())  # type: ignore[attr-defined]
    return str(part.get_content())  # type: ignore[attr-defined]


def link_in(body: str, prefix: str) -> str:
    """The path of the /<prefix>/ link in a mail's text."""
    [url] = re.findall(rf"https?://[^/\s]+(/{prefix}/\S+)", body)
    return url


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


class Walker:
    """A customer going through the pages with a TestClient: the page they are on, its links, its form.
    Every page must be under 10 KB."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.url = "http://testserver/"
        self.page = ""
        self.status = 0

    def _seen(self, r: httpx.Response, status: int) -> str:
        self.url, self.page, self.status = str(r.url), small(r.text), r.status_code
        assert r.status_code == status, (r.status_code, r.text)
        return self.page

    def get(self, url: str, status: int = 200) -> str:
        return self._seen(self.client.get(urljoin(self.url, url)), status)

    def click(self, label: str, status: int = 200) -> str:
        found = links(self.page)
        assert label in found, (label, list(found))
        return self.get(found[label], status)

    def submit(self, status: int = 200, **fields: str) -> str:
        m = re.search(r'<form method="post" action="([^"]+)"', self.page)
        assert m, "the page has no form"
        data = {**hidden_fields(self.page), **fields}
        return self._seen(self.client.post(urljoin(self.url, html.unescape(m.group(1))), data=data), status)

    def choose(self, menu: str, staff: str | None, day: str, time: str) -> str:
        """From a page with the menus: menu, day, staff (None: the menu has no choice), time."""
        self.click(menu)
        self.click(day)
        if staff is not None:
            self.click(staff)
        return self.click(time)
