"""Refusals a customer meets, against a running `mailgate serve`: a change or cancel link used after
the menu's deadline gets a page that says until when and gives the shop's phone (and changes
nothing); a customer at the shop's limit of open bookings who mails a request is told so, with no
list. Bookings are relative to now, so nothing depends on the time of day."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from sqlmodel import Session, select

from mailgate import config, db
from mailgate.context import Context
from mailgate.ledger import booking_links
from mailgate.models import Booking, Customer, utcnow
from tests.conftest import Served, start_serve, wait_for, write_config
from tests.e2e.helpers import mails_to, text_of

pytestmark = pytest.mark.e2e  # starts a real server

PHONE = "03-1234-5678"
SHOP = f"""phone = "{PHONE}"
staff = [{{ name = "佐藤" }}]
[[shop.menus]]
name = "整体"
minutes = 60
change_until = "2h"
cancel_until = "1d18:00"
"""
HANAKO = "hanako@docomo.ne.jp"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Context, int]]:
    """A shop allowing one open booking per customer; Hanako holds one, starting in an hour."""
    path = write_config(tmp_path_factory.mktemp("refusals") / "shop", "[booking]\nmax_open = 1\n", shop=SHOP)
    ctx = Context.build(config.load(path))
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    with db.transaction(ctx.engine) as s:
        hanako = Customer(email=HANAKO, email_key=HANAKO, status="active", name="山田花子")
        s.add(hanako)
        s.flush()
        booking = Booking(
            source="desk", customer_id=hanako.id, start=start, end=start + timedelta(hours=1),
            menu="整体", staff="佐藤", status="confirmed",
        )  # fmt: skip
        s.add(booking)
        s.flush()
        booking_id = booking.id or 0
    served = start_serve(path)
    try:
        yield served, ctx, booking_id
    finally:
        served.stop()
        ctx.engine.dispose()


def link(served: Served, ctx: Context, booking_id: int, purpose: str) -> str:
    """The link as mailed, on the port this server listens on."""
    with db.transaction(ctx.engine) as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None
        issued = booking_links.issue(s, booking, purpose, utcnow())
    return served.base_url + ctx.signer.url(issued.purpose, issued.token_id).removeprefix(ctx.signer.base_url)


@pytest.mark.parametrize(
    ("purpose", "deadline"), [("change", "開始2時間前まで"), ("cancel", "前日18:00まで")]
)
def test_a_link_used_after_the_deadline_says_until_when_and_gives_the_shops_phone(
    shop: tuple[Served, Context, int], purpose: str, deadline: str
) -> None:
    served, ctx, booking_id = shop
    url = link(served, ctx, booking_id, purpose)
    with httpx.Client(timeout=30) as http:
        page = http.get(url)
    assert page.status_code == 403, page.text
    assert PHONE in page.text and deadline in page.text, page.text
    with Session(ctx.engine) as s:
        booking = s.exec(select(Booking).where(Booking.id == booking_id)).one()
        assert (booking.status, booking.version) == ("confirmed", 1)


def test_a_request_by_mail_over_the_limit_of_open_bookings_is_told_so_without_a_list(
    shop: tuple[Served, Context, int],
) -> None:
    served, _ctx, _booking_id = shop
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = HANAKO, "book@shop.example", "予約"
    mail.set_content("来週 整体")
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as s:
        s.send_message(mail, HANAKO, ["book@shop.example"])
    answer = text_of(wait_for(lambda: mails_to(served.outbox, HANAKO), timeout=60)[0])
    assert "上限に達しているため" in answer and not re.search(r"^1\. ", answer, re.M), answer
