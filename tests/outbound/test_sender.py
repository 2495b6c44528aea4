"""The outbox sender on SQLite and PostgreSQL: rows are claimed before anyone is talked to, retried on
the backoff schedule of the database clock, failed alone when they cannot become a mail, delivered
once by two senders at once, and taken again after a sender dies mid-row."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import event, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.config import Config
from mailgate.context import Context
from mailgate.mail.addresses import first_address
from mailgate.models import Outbox, OutboxState
from mailgate.outbound import maildir
from mailgate.outbound.sender import BACKOFF, LOST_LEASE, Sender, maildir_name
from tests.conftest import REPO, write_config
from tests.e2e.helpers import parse_mail
from tests.outbound.servers import HOST, Recorder, serving

pytestmark = pytest.mark.e2e  # starts real servers

PAST = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Shop:
    cfg: Config
    engine: Engine

    def sender(self, **fields: object) -> Sender:
        return dataclasses.replace(Sender.build(self.cfg, self.engine), **fields)  # type: ignore[arg-type]

    def queue(self, to: str = "hanako@example.jp", **fields: object) -> int:
        with db.transaction(self.engine) as s:
            values: dict[str, Any] = {
                "subject": "ご予約を承りました",
                "body": "ご予約ありがとうございます。\n",
                "header_message_id": f"{uuid.uuid4().hex}@shop.example",
                **fields,
            }
            row = Outbox(to_addr=to, to_key=to.lower(), template="test", **values)
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

    def row(self, outbox_id: int) -> Outbox:
        with Session(self.engine) as s:
            found = s.get(Outbox, outbox_id)
            assert found is not None
            return found

    def rows(self) -> list[Outbox]:
        with Session(self.engine) as s:
            return list(s.exec(select(Outbox).order_by(col(Outbox.id))))

    def set(self, outbox_id: int, **values: object) -> None:
        with db.transaction(self.engine) as s:
            s.exec(update(Outbox).where(col(Outbox.id) == outbox_id).values(**values))  # type: ignore[call-overload]

    def now(self) -> datetime:
        with db.transaction(db.reading(self.engine)) as s:
            return db.now(s)

    def files(self) -> list[str]:
        new = self.cfg.outbox_dir / "new"
        return sorted(p.name for p in new.iterdir()) if new.is_dir() else []

    def killed_pass(self) -> None:
        """A pass in another process, killed as it commits its first outcome (see killed_sender.py)."""
        assert self.cfg.source is not None
        done = subprocess.run(
            [sys.executable, "-m", "tests.outbound.killed_sender", str(self.cfg.source)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == -9, done.stderr
        # PostgreSQL ends the dead process's transaction when it sees the socket close: wait for its
        # row locks to go (a locking read blocks until then), or the reaper would skip the rows.
        with Session(self.engine) as s:
            s.exec(select(Outbox).with_for_update()).all()
            s.rollback()


def make_shop(tmp_path: Path, db_url: str, relay_port: int | None = None) -> Shop:
    extra = f'[outbound]\nrelay = "smtp://{HOST}:{relay_port}"\n' if relay_port else ""
    cfg = config.load(write_config(tmp_path / "shop", extra, db_url=db_url))
    return Shop(cfg, Context.build(cfg).engine)


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Iterator[Shop]:
    """A shop whose sender writes to the var/outbox Maildir."""
    made = make_shop(tmp_path, db_url)
    yield made
    made.engine.dispose()


def send_due(sender: Sender) -> int:
    return asyncio.run(sender.send_due())


# --- the schedule ------------------------------------------------------------------------------


def test_a_4xx_relay_keeps_the_row_queued_and_retries_on_the_backoff_schedule(
    tmp_path: Path, db_url: str, server_451: tuple[Recorder, int]
) -> None:
    shop = make_shop(tmp_path, db_url, server_451[1])
    sender = shop.sender()
    outbox_id = shop.queue()
    for attempt, wait in enumerate(BACKOFF, start=1):
        before = shop.now()
        assert send_due(sender) == 0
        after = shop.now()
        row = shop.row(outbox_id)
        assert (row.state, row.attempts, row.claimed_by) == (OutboxState.QUEUED, attempt, None)
        assert "451 4.3.0 try again later" in row.last_error
        assert before + wait <= row.next_attempt_at <= after + wait  # the database's clock
        assert send_due(sender) == 0  # not due yet: left alone
        assert shop.row(outbox_id).attempts == attempt
        shop.set(outbox_id, next_attempt_at=PAST)


def test_a_4xx_on_the_last_attempt_marks_the_row_failed(
    tmp_path: Path, db_url: str, server_451: tuple[Recorder, int]
) -> None:
    shop = make_shop(tmp_path, db_url, server_451[1])
    outbox_id = shop.queue(attempts=len(BACKOFF))
    send_due(shop.sender())
    row = shop.row(outbox_id)
    assert (row.state, row.attempts) == (OutboxState.FAILED, len(BACKOFF) + 1)
    assert "451 4.3.0 try again later" in row.last_error
    shop.set(outbox_id, next_attempt_at=PAST)
    send_due(shop.sender())
    assert shop.row(outbox_id).attempts == len(BACKOFF) + 1  # failed is final


def test_a_5xx_reply_fails_the_row_at_once_with_the_reply(
    tmp_path: Path, db_url: str, server_550: tuple[Recorder, int]
) -> None:
    shop = make_shop(tmp_path, db_url, server_550[1])
    outbox_id = shop.queue()
    assert send_due(shop.sender()) == 0
    row = shop.row(outbox_id)
    assert (row.state, row.attempts, row.claimed_by) == (OutboxState.FAILED, 1, None)
    assert "550 5.1.1 no such user" in row.last_error


def test_a_relay_that_accepts_marks_the_row_sent_with_its_reply(
    tmp_path: Path, db_url: str, plain_server: tuple[Recorder, int]
) -> None:
    handler, port = plain_server
    shop = make_shop(tmp_path, db_url, port)
    outbox_id = shop.queue()
    assert send_due(shop.sender()) == 1
    row = shop.row(outbox_id)
    assert (row.state, row.attempts, row.claimed_by, row.lease_until) == (OutboxState.SENT, 1, None, None)
    assert "queued as TEST123" in row.last_error and row.sent_at is not None
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["hanako@example.jp"]


def test_a_pass_claims_at_most_a_batch_oldest_first(shop: Shop) -> None:
    ids = [shop.queue(to=f"c{n}@example.jp") for n in range(7)]
    sender = shop.sender(batch=3)
    assert sender.take() == ids[:3]
    assert {(r.state, r.claimed_by) for r in shop.rows()[:3]} == {(OutboxState.SENDING, sender.owner)}
    assert {(r.state, r.claimed_by) for r in shop.rows()[3:]} == {(OutboxState.QUEUED, None)}
    assert send_due(sender) == 3 and shop.rows()[5].state == OutboxState.SENT


@dataclass
class HoldsUntilRenewed(Recorder):
    """A slow relay: answers DATA only once the sender has renewed its lease on the row."""

    renewed: threading.Event = field(default_factory=threading.Event)
    renewed_in_data: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        self.renewed_in_data.append(await asyncio.to_thread(self.renewed.wait, 60))
        return await super().handle_DATA(server, session, envelope)


def test_a_slow_relay_keeps_its_row_because_the_lease_is_renewed(tmp_path: Path, db_url: str) -> None:
    handler = HoldsUntilRenewed()
    for _, port in serving(handler):
        shop = make_shop(tmp_path, db_url, port)

        def executed(conn: Connection, cursor: Any, statement: str, *_: object) -> None:
            if statement.startswith("UPDATE outbox SET lease_until") and cursor.rowcount == 1:
                conn.info["renewing"] = True

        def committed(conn: Connection) -> None:
            if conn.info.pop("renewing", False):
                handler.renewed.set()

        event.listen(shop.engine, "after_cursor_execute", executed)
        event.listen(shop.engine, "commit", committed)
        outbox_id = shop.queue()
        assert send_due(shop.sender(lease=timedelta(seconds=0.4))) == 1
    assert handler.renewed_in_data == [True]
    assert shop.row(outbox_id).state == OutboxState.SENT


# --- rows that cannot become a mail ------------------------------------------------------------------


def test_rows_that_cannot_be_composed_fail_alone_and_the_row_behind_them_is_sent(shop: Shop) -> None:
    blank = shop.queue(to=first_address(" victim2 @ victim.example "))  # parses to "@"
    long_reply = shop.queue(in_reply_to="x" * 990)
    wide_address = shop.queue(to="😀" * 300 + "@example.jp")  # 1,200 octets in 311 characters
    good = shop.queue()
    assert send_due(shop.sender()) == 1
    reasons = {r.id: r.last_error for r in shop.rows() if r.state == OutboxState.FAILED}
    assert reasons.keys() == {blank, long_reply, wide_address}
    assert "not an email address: '@'" in reasons[blank]
    assert "line longer than 998 octets: b'In-Reply-To" in reasons[long_reply]
    assert "line longer than 998 octets: b'To:" in reasons[wide_address]
    assert shop.row(good).state == OutboxState.SENT
    assert shop.files() == [maildir_name(shop.row(good))]


def test_the_log_line_masks_a_phone_number_address(shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    shop.queue(to="09012345678@docomo.ne.jp")
    with caplog.at_level(logging.INFO, logger="mailgate.outbox"):
        assert send_due(shop.sender()) == 1
    assert "to=090******78@docomo.ne.jp" in caplog.text
    assert "09012345678" not in caplog.text


@pytest.mark.parametrize(
    ("allowed", "charset", "name"), [(False, "utf-8", "髙橋 﨑子"), (True, "iso-2022-jp", "高橋 崎子")]
)
def test_a_carrier_customers_name_arrives_exact_or_in_the_standard_kanji_the_shop_allows(
    tmp_path: Path, db_url: str, allowed: bool, charset: str, name: str
) -> None:
    path = write_config(tmp_path / "shop", db_url=db_url)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "[mail]\n", f"[mail]\njis_kanji_substitutes = {str(allowed).lower()}\n"
        ),
        encoding="utf-8",
    )
    cfg = config.load(path)
    shop = Shop(cfg, Context.build(cfg).engine)
    shop.queue(to="hanako@docomo.ne.jp", body="髙橋 﨑子様\n")
    assert send_due(shop.sender()) == 1
    [delivered] = shop.files()
    msg, _, body = parse_mail((cfg.outbox_dir / "new" / delivered).read_bytes())
    assert msg.get_content_charset() == charset and body.startswith(f"{name}様")
    shop.engine.dispose()


# --- two senders at once -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingSender(Sender):
    """Before its first delivery, waits until the other sender has claimed rows too: both hold claims
    on the same queue at the same time, whatever the scheduling."""

    meeting: list[asyncio.Barrier] = field(default_factory=list)

    async def send_one(self, outbox_id: int) -> str | None:
        if self.meeting:
            await asyncio.wait_for(self.meeting.pop().wait(), 60)
        return await super().send_one(outbox_id)


def run_two_senders(shop: Shop, batch: int) -> list[int]:
    async def race() -> list[int]:
        barrier = asyncio.Barrier(2)

        async def drain(sender: Sender) -> int:
            sent = 0
            while passed := await sender.send_due():
                sent += passed
            return sent

        senders = [
            MeetingSender(
                shop.cfg,
                db.make_engine(shop.cfg.db_url),  # one engine each, as on two nodes
                None,
                Sender.build(shop.cfg, shop.engine).relay,
                batch=batch,
                meeting=[barrier],
            )
            for _ in range(2)
        ]
        try:
            return list(await asyncio.gather(*(drain(s) for s in senders)))
        finally:
            for s in senders:
                s.engine.dispose()

    return asyncio.run(race())


def assert_each_row_sent_once(shop: Shop, counts: list[int], batch: int, rows: int) -> None:
    assert sum(counts) == rows
    assert min(counts) >= batch  # both senders took a batch
    sent = shop.rows()
    assert {(r.state, r.attempts, r.claimed_by) for r in sent} == {(OutboxState.SENT, 1, None)}


def test_two_senders_at_once_write_each_row_to_the_maildir_once(shop: Shop) -> None:
    for n in range(30):
        shop.queue(to=f"c{n}@example.jp")
    counts = run_two_senders(shop, batch=4)
    assert_each_row_sent_once(shop, counts, batch=4, rows=30)
    assert shop.files() == sorted(maildir_name(r) for r in shop.rows())


def test_two_senders_at_once_hand_each_row_to_the_relay_once(
    tmp_path: Path, db_url: str, plain_server: tuple[Recorder, int]
) -> None:
    handler, port = plain_server
    shop = make_shop(tmp_path, db_url, port)
    for n in range(30):
        shop.queue(to=f"c{n}@example.jp")
    counts = run_two_senders(shop, batch=4)
    assert_each_row_sent_once(shop, counts, batch=4, rows=30)
    assert len(handler.envelopes) == 30
    assert sorted(rcpt for e in handler.envelopes for rcpt in e.rcpt_tos) == sorted(
        f"c{n}@example.jp" for n in range(30)
    )


# --- senders that stop mid-row -----------------------------------------------------------------------


def test_killed_between_maildir_delivery_and_commit_the_next_pass_does_not_deliver_again(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    outbox_id = shop.queue()
    shop.killed_pass()
    assert shop.files() == [maildir_name(shop.row(outbox_id))]  # delivered ...
    assert shop.row(outbox_id).state == OutboxState.SENDING  # ... and not recorded
    with caplog.at_level(logging.INFO, logger="mailgate.outbox"):
        assert send_due(shop.sender()) == 1
    row = shop.row(outbox_id)
    assert (row.state, row.attempts, row.claimed_by) == (OutboxState.SENT, 2, None)
    assert shop.files() == [maildir_name(row)]
    assert "already in the Maildir" in caplog.text


def test_killed_between_the_relays_250_and_commit_the_row_is_sent_again_and_the_log_says_so(
    tmp_path: Path, db_url: str, plain_server: tuple[Recorder, int], caplog: pytest.LogCaptureFixture
) -> None:
    handler, port = plain_server
    shop = make_shop(tmp_path, db_url, port)
    outbox_id = shop.queue()
    shop.killed_pass()
    assert len(handler.envelopes) == 1
    with caplog.at_level(logging.INFO, logger="mailgate.outbox"):
        assert send_due(shop.sender()) == 1
    # SMTP cannot ask the relay whether the first try arrived: the documented behaviour is twice.
    assert len(handler.envelopes) == 2
    row = shop.row(outbox_id)
    assert (row.state, row.attempts) == (OutboxState.SENT, 2)
    assert f"outbox={outbox_id} re-sent after a lost lease (attempt 2)" in caplog.text


def test_a_stale_sending_row_is_taken_again_and_a_live_claim_is_left_alone(shop: Shop) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_here = f"sender@{socket.gethostname()}/{int(gone.stdout)}/abc"
    far = shop.now() + timedelta(hours=1)
    of_dead_process = shop.queue(state=OutboxState.SENDING, attempts=1, claimed_by=dead_here, lease_until=far)
    run_out = shop.queue(
        state=OutboxState.SENDING, attempts=1, claimed_by="sender@node-b/7/x", lease_until=PAST
    )
    live = shop.queue(state=OutboxState.SENDING, attempts=1, claimed_by="sender@node-b/8/y", lease_until=far)
    assert send_due(shop.sender()) == 2
    for outbox_id in (of_dead_process, run_out):
        row = shop.row(outbox_id)
        assert (row.state, row.attempts) == (OutboxState.SENT, 2)  # the stopped try counted once
    untouched = shop.row(live)
    assert (untouched.state, untouched.claimed_by, untouched.attempts) == (
        OutboxState.SENDING,
        "sender@node-b/8/y",
        1,
    )
    assert len(shop.files()) == 2


def test_a_row_retried_after_a_lost_lease_stays_marked_until_it_is_sent(
    tmp_path: Path, db_url: str, server_451: tuple[Recorder, int]
) -> None:
    shop = make_shop(tmp_path, db_url, server_451[1])
    outbox_id = shop.queue(
        state=OutboxState.SENDING, attempts=1, claimed_by="sender@node-b/7/x", lease_until=PAST
    )
    send_due(shop.sender())
    row = shop.row(outbox_id)
    assert (row.state, row.attempts) == (OutboxState.QUEUED, 2)
    # The try that finally gets a 250 may still be the mail's second arrival: it must say so.
    assert row.last_error.startswith(f"{LOST_LEASE} before; ") and "451" in row.last_error


def test_a_stale_row_on_its_last_attempt_is_failed_not_sent(shop: Shop) -> None:
    outbox_id = shop.queue(
        state=OutboxState.SENDING, attempts=len(BACKOFF) + 1, claimed_by="sender@node-b/7/x", lease_until=PAST
    )
    assert send_due(shop.sender()) == 0
    row = shop.row(outbox_id)
    assert row.state == OutboxState.FAILED and row.last_error.startswith(LOST_LEASE)
    assert shop.files() == []


def test_a_sender_whose_lease_ran_out_and_was_taken_over_records_nothing(shop: Shop) -> None:
    outbox_id = shop.queue()
    slow = shop.sender(lease=timedelta(0))
    assert slow.take() == [outbox_id]  # and its lease runs out at once
    assert send_due(shop.sender()) == 1  # another sender takes it over and sends it
    assert asyncio.run(slow.send_one(outbox_id)) is None  # the slow one finishes: nothing recorded
    row = shop.row(outbox_id)
    assert (row.state, row.attempts) == (OutboxState.SENT, 2)
    assert shop.files() == [maildir_name(row)]


def test_a_file_left_in_tmp_does_not_block_delivery_and_old_ones_are_cleaned_at_start(shop: Shop) -> None:
    outbox_id = shop.queue()
    tmp = shop.cfg.outbox_dir / "tmp"
    tmp.mkdir(parents=True)
    # Where a killed delivery used to leave the row's mail: every retry failed on it.
    leftover = tmp / maildir_name(shop.row(outbox_id))
    leftover.write_bytes(b"From: cut off")
    assert send_due(shop.sender()) == 1
    assert shop.files() == [leftover.name]
    shop.sender().start()
    assert leftover.exists()  # young: a delivery may still be writing it
    stamp = time.time() - timedelta(hours=37).total_seconds()
    os.utime(leftover, (stamp, stamp))
    shop.sender().start()
    assert not leftover.exists()


def test_a_first_try_does_not_look_through_the_maildir_for_an_earlier_delivery(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a try before this one can have delivered a row; looking reads the whole of cur/, which
    a mail reader fills, for every mail sent. The killed-pass test above proves a second try looks."""
    looked: list[str] = []
    real = maildir.delivered
    monkeypatch.setattr(maildir, "delivered", lambda *a: looked.append(a[1]) or real(*a))
    outbox_id = shop.queue()
    assert send_due(shop.sender()) == 1
    row = shop.row(outbox_id)
    assert (row.state, row.attempts, looked) == (OutboxState.SENT, 1, [])
    assert shop.files() == [maildir_name(row)]
