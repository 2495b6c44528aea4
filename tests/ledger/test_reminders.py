"""Reminder mails on SQLite and PostgreSQL: each once per booking version however many nodes and runs,
late within the catch-up window and skipped after it, withdrawn when the booking moves or is cancelled."""

from __future__ import annotations

import email
import threading
from datetime import datetime, timedelta
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from mailgate import config, db, jobs
from mailgate.audit import Actor
from mailgate.context import Context
from mailgate.followup_tables import Reminder, ReminderState
from mailgate.ledger import booking_links, fitting, reminders
from mailgate.ledger.fit_rules import DESK
from mailgate.ledger.results import Status
from mailgate.models import Booking, Customer, Outbox, OutboxState
from mailgate.outbound.sender import Sender
from tests.conftest import wait_for, write_config
from tests.e2e.helpers import text_of
from tests.ledger.conftest import AUTHN
from tests.ledger.test_booking_mail import MINE, link_in
from tests.ledger.test_fitting import JST, NOW, SHOP, THU

DESK_ACTOR = Actor("operator:test")
EVE = datetime(2026, 12, 2, 18, 0, tzinfo=JST)  # the day before THU (13:00), at 18:00
MENUS = """
[[shop.menus]]
name = "ヘッドスパ"
minutes = 30
reminders = ["90m"]
[[shop.menus]]
name = "カット"
minutes = 30
reminders = []
"""
WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)
REMIND = AUTHN + '\n[booking]\nreminders = ["1d18:00", "2h"]\nreminder_catch_up = "6h"\n'


@pytest.fixture
def salon(tmp_path: Path, db_url: str) -> Context:
    return shop_at(tmp_path, db_url)


def waiting(ctx: Context) -> int:
    """Connections waiting for a lock (its own connection: the statistics are read once per transaction)."""
    with ctx.engine.connect() as conn:
        return int(conn.execute(WAITING).scalar_one())


def shop_at(tmp_path: Path, db_url: str) -> Context:
    path = write_config(tmp_path / "shop", REMIND, db_url=db_url, shop=SHOP + MENUS)
    ctx = Context.build(config.load(path))
    with db.transaction(ctx.engine) as s:
        if s.exec(select(Customer)).first() is None:
            s.add(Customer(email=MINE, email_key=MINE, status="active", name="山田花子"))
    return ctx


def book(ctx: Context, start: datetime = THU, menu: str = "整体") -> int:
    with Session(ctx.engine) as s:
        customer = s.exec(select(Customer)).one()
    cmd = fitting.FitBook("desk", start, menu, customer_id=customer.id, policy=DESK, notify=False)
    with db.transaction(ctx.engine) as s:
        done = fitting.book(s, ctx.ledger, cmd, DESK_ACTOR, NOW)
    assert done.status == Status.CREATED and done.booking_id is not None
    return done.booking_id


def remind(ctx: Context, now: datetime) -> list[int]:
    with db.transaction(ctx.engine) as s:
        return reminders.queue_due(s, ctx.ledger, now).sent


def rows(ctx: Context) -> list[Outbox]:
    with Session(ctx.engine) as s:
        stmt = select(Outbox).where(Outbox.template == "booking_reminder").order_by(col(Outbox.id))
        return list(s.exec(stmt))


def recorded(ctx: Context) -> list[Reminder]:
    with Session(ctx.engine) as s:
        return list(s.exec(select(Reminder).order_by(col(Reminder.id))))


def rendered(ctx: Context, row: Outbox) -> email.message.EmailMessage:
    raw = Sender.build(ctx.cfg, ctx.engine).render(row, NOW)
    return email.message_from_bytes(raw, policy=default)  # type: ignore[return-value]


def body_of(ctx: Context, row: Outbox) -> str:
    return text_of(rendered(ctx, row))


def test_the_day_before_reminder_goes_once_in_local_time_with_links_for_this_version(salon: Context) -> None:
    booking_id = book(salon)
    assert remind(salon, EVE - timedelta(minutes=1)) == []
    [first] = remind(salon, EVE)
    assert remind(salon, EVE + timedelta(minutes=1)) == []

    [row] = rows(salon)
    assert row.id == first and row.to_addr == MINE
    mail = rendered(salon, row)
    text = next(mail.iter_parts())
    assert text.get_content_charset() == "iso-2022-jp"  # a carrier's address
    body = text.get_content()  # type: ignore[attr-defined]
    assert "ご予約の日時が近づいて" in body and "2026年12月03日(木) 13:00〜14:00" in body
    with Session(salon.engine) as s:
        token, booking = booking_links.open_link(s, salon.signer, "cancel", link_in(body, "x"), EVE)
    assert booking.id == booking_id and token.booking_version == 1

    assert len(remind(salon, THU - timedelta(hours=2))) == 1  # the second offset, 2h before
    assert [r.kind for r in recorded(salon)] == ["remind:1d18:00", "remind:2h"]


def test_nodes_and_runs_racing_the_reminder_job_queue_each_reminder_once(
    salon: Context, tmp_path: Path, db_url: str
) -> None:
    book(salon)
    other_node = shop_at(tmp_path, db_url)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(node: Context, minute: int) -> None:
        try:
            start.wait()
            jobs.send_reminders(node, EVE + timedelta(minutes=minute))  # each its own job_run period
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n, m)) for m, n in enumerate([salon, other_node] * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(rows(salon)) == 1 and len(recorded(salon)) == 1
    # a restart runs the job again: nothing new
    assert jobs.send_reminders(shop_at(tmp_path, db_url), EVE + timedelta(minutes=9)) == []
    assert len(rows(salon)) == 1


def test_a_reminder_missed_within_the_catch_up_window_is_sent_late(salon: Context) -> None:
    book(salon)
    assert len(remind(salon, EVE + timedelta(hours=6))) == 1


def test_a_reminder_missed_longer_is_recorded_as_skipped_and_never_sent(salon: Context) -> None:
    book(salon)
    assert remind(salon, EVE + timedelta(hours=6, minutes=1)) == []
    assert remind(salon, EVE + timedelta(hours=7)) == []
    [skipped] = recorded(salon)
    assert skipped.state == ReminderState.SKIPPED and skipped.kind == "remind:1d18:00"
    assert rows(salon) == []
    assert len(remind(salon, THU - timedelta(hours=2))) == 1  # the 2h one is on time


def test_moving_a_booking_withdraws_its_queued_reminder_and_reminds_of_the_new_time(salon: Context) -> None:
    booking_id = book(salon)
    remind(salon, EVE)
    move = fitting.FitMove(booking_id, THU.replace(hour=17), policy=DESK, notify=False)
    with db.transaction(salon.engine) as s:
        assert (
            fitting.move(s, salon.ledger, move, DESK_ACTOR, EVE + timedelta(minutes=5)).status == Status.MOVED
        )

    [old] = rows(salon)
    assert old.state == OutboxState.WITHDRAWN and "moved" in old.last_error
    assert recorded(salon)[0].state == ReminderState.WITHDRAWN
    assert len(remind(salon, EVE + timedelta(minutes=6))) == 1
    old, new = rows(salon)
    assert new.state == OutboxState.QUEUED and "2026年12月03日(木) 17:00〜18:00" in body_of(salon, new)
    assert [(r.version, r.state) for r in recorded(salon)] == [
        (1, ReminderState.WITHDRAWN),
        (2, ReminderState.QUEUED),
    ]


def test_a_reminder_already_sent_stays_sent_when_the_booking_moves(salon: Context) -> None:
    booking_id = book(salon)
    remind(salon, EVE)
    with db.transaction(salon.engine) as s:
        [row] = s.exec(select(Outbox)).all()
        row.state = OutboxState.SENT
        s.add(row)
    move = fitting.FitMove(booking_id, THU.replace(hour=17), policy=DESK, notify=False)
    with db.transaction(salon.engine) as s:
        fitting.move(s, salon.ledger, move, DESK_ACTOR, EVE + timedelta(minutes=5))
    assert rows(salon)[0].state == OutboxState.SENT
    assert len(remind(salon, EVE + timedelta(minutes=6))) == 1


def test_a_cancelled_booking_is_never_reminded_and_its_queued_reminder_is_withdrawn(salon: Context) -> None:
    booking_id = book(salon)
    remind(salon, EVE)
    with db.transaction(salon.engine) as s:
        done = fitting.cancel(
            s, salon.ledger, fitting.FitCancel(booking_id, policy=DESK, notify=False), DESK_ACTOR, EVE
        )
    assert done.status == Status.CANCELLED
    assert [r.state for r in rows(salon)] == [OutboxState.WITHDRAWN]
    assert remind(salon, THU - timedelta(hours=2)) == []


def test_a_menus_own_offsets_replace_the_shops_and_a_tentative_booking_is_reminded_once_confirmed(
    salon: Context,
) -> None:
    book(salon, THU.replace(hour=15), "ヘッドスパ")  # 90 minutes before only
    book(salon, THU.replace(hour=15, minute=30), "カット")  # none
    tentative = book(salon, THU.replace(hour=16), "整体")
    with db.transaction(salon.engine) as s:
        held = s.get(Booking, tentative)
        assert held is not None
        held.status = "tentative"
        s.add(held)
    assert remind(salon, THU.replace(hour=13)) == []  # the shop's "2h" is not the spa's
    assert len(remind(salon, THU.replace(hour=13, minute=30))) == 1
    assert [r.kind for r in recorded(salon)] == ["remind:90m"]
    two_before = THU.replace(hour=14)
    with db.transaction(salon.engine) as s:
        confirmed = fitting.confirm(s, salon.ledger, tentative, DESK_ACTOR, two_before, notify=False)
    assert confirmed.status == Status.CONFIRMED
    assert len(remind(salon, two_before)) == 1  # once confirmed, its "2h" goes


def test_a_job_that_read_the_booking_before_a_move_committed_does_not_remind_of_the_old_time(
    tmp_path: Path, pg_db_url: str
) -> None:
    # PostgreSQL only: on SQLite the move's transaction holds the write lock and the job waits at BEGIN.
    salon = shop_at(tmp_path, pg_db_url)
    booking_id = book(salon)
    move = fitting.FitMove(booking_id, THU.replace(hour=17), policy=DESK, notify=False)
    queued: list[list[int]] = []
    job = threading.Thread(target=lambda: queued.append(remind(salon, EVE)))
    with db.transaction(salon.engine) as mover:
        assert fitting.move(mover, salon.ledger, move, DESK_ACTOR, EVE).status == Status.MOVED
        job.start()  # reads the booking at 13:00 (the move is not committed), then waits for its lock
        wait_for(lambda: waiting(salon))
    job.join()
    assert queued == [[]]
    assert len(remind(salon, EVE)) == 1
    [row] = rows(salon)
    assert "17:00〜18:00" in body_of(salon, row)
    assert [r.version for r in recorded(salon)] == [2]
