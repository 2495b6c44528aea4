"""A bounce against a running `mailgate serve` with a relay: the mail serve sends carries its own
VERP return path in MAIL FROM; docomo's plain-text report of an unknown user, sent over SMTP to that
address, marks the customer unreachable, and the next automatic mail to them (a booking the desk
makes with --notify, then its reminder) is kept as suppressed and never reaches the relay."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.context import Context
from mailgate.models import Customer, Message, Outbox, OutboxState
from mailgate.outbound import return_path
from tests.conftest import SECRET, start_serve, wait_for, write_config
from tests.e2e.helpers import cli
from tests.ledger.test_fitting import JST, SHOP
from tests.outbound.servers import Recorder, serving

pytestmark = pytest.mark.e2e  # starts real servers

HANAKO = "hanako.0401@docomo.ne.jp"
REPORT = Path(__file__).parents[1] / "mail" / "bounces" / "docomo-unknown-user.eml"


@pytest.fixture
def relay() -> Iterator[tuple[Recorder, int]]:
    yield from serving(Recorder())


def smtp(port: int, mail_from: str, rcpt: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.sendmail(mail_from, [rcpt], raw)


def test_a_carrier_hard_bounce_stops_the_next_automatic_mail(
    tmp_path: Path, relay: tuple[Recorder, int]
) -> None:
    recorder, port = relay
    # Reminders 9 days before at the same time, caught up within 3 days: the booking made below (7 or 8
    # days ahead) has one due now, whatever the time of day.
    remind = '[booking]\nreminders = ["9d"]\nreminder_catch_up = "3d"\n'
    path = write_config(tmp_path, f'[outbound]\nrelay = "smtp://127.0.0.1:{port}"\n{remind}', shop=SHOP)
    ctx = Context.build(config.load(path))
    with db.transaction(ctx.engine) as s:
        hanako = Customer(email=HANAKO, email_key=HANAKO, status="active", name="山田花子")
        s.add(hanako)
        s.flush()
        hanako_id = hanako.id
    served = start_serve(path)
    try:
        # A blank mail from a registered customer: serve answers with a settings link, through the relay.
        blank = (
            f"From: {HANAKO}\r\nTo: signup@shop.example\r\nSubject: \r\nMessage-ID: <b1@docomo.ne.jp>\r\n\r\n"
        )
        smtp(served.smtp_port, HANAKO, "signup@shop.example", blank.encode())
        [answer] = wait_for(lambda: recorder.envelopes[:1])
        assert answer.rcpt_tos == [HANAKO]
        local, _, domain = answer.mail_from.partition("@")
        assert domain == "shop.example" and local.startswith("bounce+")
        outbox_id = return_path.outbox_id_of(local.partition("+")[2], [SECRET])
        with Session(ctx.engine) as s:
            sent = s.get(Outbox, outbox_id)
            assert sent is not None and sent.to_addr == HANAKO

        # docomo's report, sent by its MTA with the null sender to that return path.
        report = REPORT.read_bytes().replace(b"taro..yamada.@docomo.ne.jp", HANAKO.encode())
        smtp(served.smtp_port, "", answer.mail_from, report)

        def bounced() -> Message | None:
            with Session(ctx.engine) as s:
                stmt = select(Message).where(Message.rcpt == answer.mail_from, Message.state == "applied")
                return s.exec(stmt).first()

        assert "hard bounce 5.1.1 (docomo)" in wait_for(bounced).reason
        with Session(ctx.engine) as s:
            marked = s.get(Customer, hanako_id)
            assert marked is not None and marked.unreachable_since is not None

        # The desk books her and asks to notify: an automatic mail, suppressed with the reason.
        day = datetime.now(JST).date() + timedelta(days=7)
        day += timedelta(days=1) if day.weekday() == 1 else timedelta(0)  # Tuesday is closed
        booked = cli(
            path, "book", "--customer", f"#{hanako_id}", "--menu", "整体", "--at", f"{day} 14:00", "--notify"
        )
        assert booked["status"] == "created"
        with Session(ctx.engine) as s:
            notice = s.exec(
                select(Outbox).where(Outbox.to_addr == HANAKO).order_by(col(Outbox.id).desc())
            ).first()
        assert notice is not None and notice.state == OutboxState.SUPPRESSED
        assert notice.last_error.startswith(f"suppressed: {HANAKO} unreachable since")
        assert cli(path, "customers", "--unreachable")[0]["id"] == hanako_id
        served.stop()

        # serve again: its first reminder run finds her booking's reminder due, and keeps it suppressed.
        served = start_serve(path)

        def reminder() -> Outbox | None:
            with Session(ctx.engine) as s:
                return s.exec(select(Outbox).where(Outbox.template == "booking_reminder")).first()

        kept = wait_for(reminder, timeout=60)
        assert kept.state == OutboxState.SUPPRESSED and kept.to_addr == HANAKO
    finally:
        served.stop()
    # The suppressed mail never left (staff may have had their alert of the booking meanwhile).
    assert [e.rcpt_tos for e in recorder.envelopes if HANAKO in e.rcpt_tos] == [[HANAKO]]
