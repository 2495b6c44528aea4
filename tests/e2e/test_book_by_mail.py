"""Booking by mail alone against a running `mailgate serve`, over real SMTP: a request to book@ gets a
numbered list, a one-digit reply to the list's own address books that time, and the confirmation
carries the booking in the shop's time, a valid .ics and a working cancel link; staff are alerted."""

from __future__ import annotations

import re
import smtplib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import icalendar
import pytest
from sqlmodel import Session, select

from mailgate import config, db
from mailgate.context import Context
from mailgate.models import Booking, Customer
from tests.conftest import Served, start_serve, wait_for, write_config
from tests.e2e.helpers import forms, mails_to, text_of
from tests.ledger.conftest import AUTHN
from tests.ledger.test_fitting import JST, SHOP

pytestmark = pytest.mark.e2e  # starts a real server

HANAKO = "hanako@docomo.ne.jp"


def next_mail(served: Served, to: str, seen: int) -> EmailMessage:
    return wait_for(lambda: mails_to(served.outbox, to)[seen:])[0]


def send(served: Served, to: str, body: str, subject: str = "", in_reply_to: str = "") -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = HANAKO, to, subject
    mail["Message-ID"] = f"<{datetime.now(UTC).timestamp()}@docomo.ne.jp>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    mail.set_content(body)
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as s:
        s.send_message(mail, HANAKO, [to])


def test_request_list_reply_confirmation_ics_and_cancel_link(tmp_path: Path) -> None:
    path = write_config(tmp_path, AUTHN, shop=SHOP)
    ctx = Context.build(config.load(path))
    with db.transaction(ctx.engine) as s:
        s.add(Customer(email=HANAKO, email_key=HANAKO, status="active", name="山田花子"))
    # A day a week ahead (整体 is booked until the day before at 18:00, 30 days ahead; Tuesday closed):
    # the same answer whatever the time of day.
    day = datetime.now(JST).date() + timedelta(days=7)
    day += timedelta(days=1) if day.weekday() == 1 else timedelta(0)
    served = start_serve(path)
    try:
        send(served, "book@shop.example", f"{day.month}/{day.day} 午後 整体\n\n-- \ndocomo携帯から送信")
        listed = next_mail(served, HANAKO, 0)
        body = text_of(listed)
        assert listed.get_content_charset() == "iso-2022-jp"  # a carrier address
        first = re.search(r"^1\. (\d+)/(\d+)\(.\) (\d\d):(\d\d)$", body, re.M)
        assert first, body
        assert (int(first[1]), int(first[2]), first[3], first[4]) == (day.month, day.day, "12", "00")
        reply_to = str(listed["Reply-To"])
        assert re.fullmatch(r"book\+[A-Z2-9]{6}@shop\.example", reply_to)

        # A feature phone: no In-Reply-To, a full-width digit, the original quoted below.
        quoted = "\n".join("> " + line for line in body.splitlines())
        send(served, reply_to, f"１\n\n{quoted}", subject=f"Re: {listed['Subject']}")
        confirmed = next_mail(served, HANAKO, 1)
        text, ics = confirmed.iter_parts()
        start = datetime(day.year, day.month, day.day, 12, tzinfo=JST)
        assert f"{start:%Y年%m月%d日}" in text.get_content() and "12:00〜13:00" in text.get_content()
        assert ics.get_content_type() == "text/calendar"
        event = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
        assert event.decoded("DTSTART") == start and event["DTSTART"].params["TZID"] == "Asia/Tokyo"

        alert = next_mail(served, "staff@shop.example", 0)
        assert f"{start:%m月%d日}" in text_of(alert)

        # キャンセル in reply to the confirmation asks for its one-tap link; nothing is cancelled yet.
        send(served, str(confirmed["Reply-To"]), "キャンセル", subject=f"Re: {confirmed['Subject']}")
        links = next_mail(served, HANAKO, 2)
        assert "キャンセルを確定してください" in text_of(links)
        assert len(re.findall(r"https?://\S+/x/\S+", text_of(links))) == 1

        [url] = re.findall(r"https?://\S+/x/\S+", text.get_content())
        assert url.startswith(served.base_url + "/x/")
        with httpx.Client(timeout=10) as http:
            page = http.get(url)
            assert page.status_code == 200, page.text
            [form] = [f for f in forms(page.text) if f["fields"]]
            done = http.post(url, data=form["fields"])
            assert done.status_code == 200, done.text
            with Session(ctx.engine) as s:
                booking = s.exec(select(Booking)).one()
                assert booking.status == "cancelled"
    finally:
        assert served.stop() == 0
        ctx.engine.dispose()
