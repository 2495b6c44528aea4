"""A waitlist hand-over against a running `mailgate serve`: the only seat of a time far ahead is taken
by the desk while one customer is on the confirmation page and another holds a mailed list. The first
joins the waitlist with the page's POST, the second by replying 「待つ」 to 「ちょうど埋まりました」. The
desk cancels: the first gets the offer mail and lets it run out (the expire job at a later time), the
second gets the offer and claims the seat by its link."""

from __future__ import annotations

import email
import re
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from mailgate import config, db, jobs
from mailgate.context import Context
from mailgate.followup_tables import WaitEntry
from mailgate.models import Booking, Customer, Outbox, utcnow
from mailgate.outbound.sender import Sender
from mailgate.shop_tables import MenuItem
from tests.conftest import Served, start_serve, wait_for, write_config
from tests.e2e.helpers import cli, outbox_files, parse_mail
from tests.e2e.test_last_seat import SHOP as LAST_SEAT_SHOP
from tests.e2e.test_last_seat import START, text_of
from tests.ledger.conftest import AUTHN
from tests.web.booking_shop import Walker
from tests.web.test_app import active_customer

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("dialect", ["sqlite"])]

# test_last_seat's shop with one seat: a Thursday far ahead, the only bookable hour of the week
# (nothing depends on today).
SHOP = LAST_SEAT_SHOP.replace('staff = [{ name = "佐藤" }, { name = "田中" }]', 'staff = [{ name = "佐藤" }]')
assert SHOP != LAST_SEAT_SHOP
PAGE, MAIL, DESK = "hanako@example.jp", "jiro@example.jp", "caller@example.jp"
TAKEN = "ちょうど埋まりました"


def mail_to(served: Served, to: str, subject: str, count: int = 1) -> tuple[str, str]:
    """(Reply-To, body) of the newest of `count` mails to `to` whose subject has `subject`."""

    def found() -> list[tuple[str, str]]:
        out = []
        for path in outbox_files(served.outbox):
            msg = email.message_from_bytes(path.read_bytes(), policy=default)
            if to in str(msg["To"]) and subject in str(msg["Subject"]):
                out.append((str(msg["Reply-To"] or ""), text_of(msg)))  # type: ignore[arg-type]
        return out

    wait_for(lambda: len(found()) >= count, timeout=60)
    return found()[-1]


def send(served: Served, to: str, body: str, subject: str = "Re: 予約") -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = MAIL, to, subject
    mail.set_content(body)
    with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=60) as s:
        s.send_message(mail, MAIL, [to])


def queued_offer(ctx: Context, customer_id: int) -> str:
    with Session(ctx.engine) as s:
        stmt = select(Outbox).where(Outbox.template == "waitlist_offer", Outbox.customer_id == customer_id)
        [row] = s.exec(stmt).all()
    raw = Sender.build(ctx.cfg, ctx.engine).render(row, utcnow())
    return parse_mail(raw)[2]


def claim_path(body: str) -> str:
    [path] = re.findall(r"https?://[^/\s]+(/w/\S+)", body)
    return path


def test_a_freed_seat_goes_to_the_first_waiting_then_after_its_offer_ran_out_to_the_next(
    tmp_path: Path, db_url: str
) -> None:
    path = write_config(tmp_path / "shop", AUTHN, db_url=db_url, shop=SHOP)
    ctx = Context.build(config.load(path))
    _, login = active_customer(ctx, PAGE)
    with db.transaction(ctx.engine) as s:
        for who in (MAIL, DESK):
            s.add(Customer(email=who, email_key=who, status="active", name=who.split("@")[0]))
    with Session(ctx.engine) as s:
        ids = {c.email: c.id or 0 for c in s.exec(select(Customer))}
        menu_id = s.exec(select(MenuItem.id).where(MenuItem.name == "整体")).one() or 0
    log = (tmp_path / "serve.log").open("w")
    served = start_serve(path, stderr=log)
    try:
        # The mail customer's list has the time; the page customer reaches its confirmation page.
        send(served, "book@shop.example", f"{START:%Y/%m/%d} 整体", subject="予約")
        listed, body = mail_to(served, MAIL, "空き時間")
        assert "1. 12/4(木) 10:00" in body, body
        with httpx.Client(timeout=60) as http:
            page = Walker(http)  # type: ignore[arg-type]
            page.url = f"{served.base_url}/"
            page.get(login)
            page.submit(pin="1234")
            page.click("新しく予約する")
            page.get(f"new?menu={menu_id}&day={START:%Y%m%d}&time={START:%H%M}")
            assert "予約する" in page.page

            # The desk takes the only seat meanwhile.
            desk = cli(
                path,
                "book",
                "--customer",
                str(ids[DESK]),
                "--menu",
                "整体",
                "--at",
                f"{START:%Y-%m-%d %H:%M}",
            )
            assert desk["status"] == "created"

            # First in line: the page's 「ちょうど埋まりました」, its waitlist link, one POST.
            page.submit(status=409)
            assert TAKEN in page.page
            page.click("この時間のキャンセル待ちをする")
            page.submit()
            assert "キャンセル待ちを承りました" in page.page

            # Second: the mailed list's time is taken; 「待つ」 in reply to that answer.
            send(served, listed, "1")
            again, body = mail_to(served, MAIL, "空き時間", count=2)
            assert TAKEN in body and "「待つ」" in body, body
            send(served, again, "待つ")
            _, body = mail_to(served, MAIL, "キャンセル待ちを承りました")
            assert "2番目" in body, body

            # The desk cancels: the seat is held for the first, who lets the offer run out.
            assert cli(path, "cancel", str(desk["booking_id"]))["status"] == "cancelled"
            _, offer = mail_to(served, PAGE, "キャンセル待ちのお席が空きました")
            assert "12月04日" in offer and claim_path(offer)
            with Session(ctx.engine) as s:
                first = s.exec(select(WaitEntry).where(WaitEntry.customer_id == ids[PAGE])).one()
            assert first.state == "offered" and first.offer_until is not None
            later = first.offer_until + timedelta(minutes=1)
            assert jobs.expire_tentative(ctx, later) == [first.booking_id]

            # The next one gets it, and claims it by the link. Its mail is queued at that later time:
            # read as the sender will send it then.
            offer = queued_offer(ctx, ids[MAIL])
            page.get(claim_path(offer))
            assert "キャンセル待ちのお席" in page.page
            page.submit()
            _, confirmed = mail_to(served, MAIL, "ご予約を承りました")
            assert "2031年12月04日" in confirmed
            _, first_offer = mail_to(served, PAGE, "キャンセル待ちのお席が空きました")
            page.get(claim_path(first_offer), status=410)  # the first one's offer ran out
        states = cli(path, "waitlist", "--date", f"{START:%Y-%m-%d}")
    finally:
        assert served.stop() == 0, (tmp_path / "serve.log").read_text()[-5000:]
        log.close()

    assert [(r["customer_id"], r["state"]) for r in states] == [
        (ids[PAGE], "expired"),
        (ids[MAIL], "claimed"),
    ]
    with Session(ctx.engine) as s:
        holding = s.exec(select(Booking).where(Booking.start == START, Booking.status == "confirmed")).all()
    ctx.engine.dispose()
    assert [(b.customer_id, b.source) for b in holding] == [(ids[MAIL], "waitlist")]
