"""What a customer's booking mails: the booking in the shop's time, links bound to this version of it,
an .ics for the calendar app, and an alert for staff. SQLite and PostgreSQL."""

from __future__ import annotations

import email
import re
from datetime import datetime
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailgate import config, db
from mailgate.context import Context
from mailgate.ledger import booking_links, fitting
from mailgate.ledger.results import Status
from mailgate.links import LinkError
from mailgate.models import Customer, Outbox, StaffAlert
from mailgate.outbound.sender import Sender
from tests.conftest import write_config
from tests.ledger.conftest import AUTHN
from tests.ledger.test_fitting import NOW, SHOP, THU, WEB

MINE = "hanako@docomo.ne.jp"


@pytest.fixture
def salon(tmp_path: Path, db_url: str) -> Context:
    path = write_config(tmp_path / "shop", AUTHN, db_url=db_url, shop="staff_alert_minutes = 0\n" + SHOP)
    ctx = Context.build(config.load(path))
    with db.transaction(ctx.engine) as s:
        s.add(Customer(email=MINE, email_key=MINE, status="active", name="山田花子"))
    return ctx


def customer_id(ctx: Context) -> int:
    with Session(ctx.engine) as s:
        found = s.exec(select(Customer).where(Customer.email_key == MINE)).one()
        assert found.id is not None
        return found.id


def sent(ctx: Context, template: str) -> email.message.EmailMessage:
    with Session(ctx.engine) as s:
        row = s.exec(select(Outbox).where(Outbox.template == template).order_by(Outbox.id.desc())).first()  # type: ignore[union-attr]
        assert row is not None
    raw = Sender.build(ctx.cfg, ctx.engine).render(row, NOW)
    return email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


def link_in(text: str, prefix: str) -> str:
    [signed] = re.findall(rf"/{prefix}/(\S+)", text)
    return signed


def test_a_booking_mails_the_customer_links_for_this_version_and_an_ics(salon: Context) -> None:
    cmd = fitting.FitBook(source="web", start=THU, menu="整体", customer_id=customer_id(salon))
    with db.transaction(salon.engine) as s:
        done = fitting.book(s, salon.ledger, cmd, WEB, NOW)
    assert done.status == Status.CREATED
    mail = sent(salon, "booking_confirmed")
    text, calendar = mail.iter_parts()
    body = text.get_content()
    assert "2026年12月03日(木) 13:00〜14:00" in body and "6,000円" in body and "03-1234-5678" in body
    ics = calendar.get_content()
    assert "DTSTART;TZID=Asia/Tokyo:20261203T130000" in ics and "SEQUENCE:1" in ics
    cancel = link_in(body, "x")
    with Session(salon.engine) as s:
        token, booking = booking_links.open_link(s, salon.signer, "cancel", cancel, NOW)
        assert booking.id == done.booking_id and token.booking_version == 1
        assert s.exec(select(StaffAlert)).all() == []  # staff_alert_minutes = 0: mailed at once
        staff = s.exec(select(Outbox).where(Outbox.to_addr == "staff@shop.example")).all()
    assert len(staff) == 1 and "予約サイト" in staff[0].body

    with db.transaction(salon.engine) as s:
        moved = fitting.move(
            s, salon.ledger, fitting.FitMove(done.booking_id or 0, THU.replace(hour=17)), WEB, NOW
        )
    assert moved.status == Status.MOVED
    with Session(salon.engine) as s, pytest.raises(LinkError) as old:
        booking_links.open_link(s, salon.signer, "cancel", cancel, NOW)
    assert old.value.kind == "changed"
    changed = sent(salon, "booking_changed")
    assert "17:00〜18:00" in next(changed.iter_parts()).get_content()


def test_a_tentative_booking_mails_its_confirm_link_until_the_hold_ends(salon: Context) -> None:
    cmd = fitting.FitBook(source="web", start=THU, menu="体験", customer_id=customer_id(salon))
    with db.transaction(salon.engine) as s:
        fitting.book(s, salon.ledger, cmd, WEB, NOW)
    body = next(sent(salon, "booking_tentative").iter_parts()).get_content()
    assert "11/25 10:30までに" in body
    confirm = link_in(body, "k")
    with Session(salon.engine) as s:
        token, _ = booking_links.open_link(s, salon.signer, "confirm", confirm, NOW)
        assert token.expires_at is not None
    later = datetime(2026, 11, 25, 10, 31, tzinfo=NOW.tzinfo)
    with Session(salon.engine) as s, pytest.raises(LinkError) as late:
        booking_links.open_link(s, salon.signer, "confirm", confirm, later)
    assert late.value.kind == "expired"


def test_a_vendors_cancel_is_mailed_to_the_customer_only_when_the_shop_wants_it(
    tmp_path: Path, db_url: str
) -> None:
    from mailgate.inbound.store import store
    from mailgate.pipeline.worker import process_pending
    from tests import notices

    def run(ctx: Context, *mails: bytes) -> None:
        for raw in mails:
            store(ctx.engine, ctx.cfg.spool_dir, raw, ["notices@shop.example"], mail_from=None, via="smtp")
            process_pending(ctx)

    for wanted in (False, True):
        path = write_config(
            tmp_path / f"shop-{wanted}",
            AUTHN + f"\n[booking]\nnotify_vendor_changes = {str(wanted).lower()}\n",
            db_url=db_url if not wanted else None,
            shop=SHOP,
        )
        ctx = Context.build(config.load(path))
        run(ctx, notices.stores_booked("8800", email=MINE), notices.stores_cancelled("8800"))
        with Session(ctx.engine) as s:
            to_customer = s.exec(select(Outbox).where(Outbox.to_addr == MINE)).all()
        assert [r.template for r in to_customer] == (["booking_cancelled"] if wanted else [])
