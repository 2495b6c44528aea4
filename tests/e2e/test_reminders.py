"""Reminders from a running `mailgate serve`: one mail per booking version, across a restart, and again
for a moved booking's new time. Times are relative to now: nothing depends on the time of day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from mailgate import config, db
from mailgate.models import Customer, JobRun, Outbox, OutboxState
from tests.conftest import start_serve, wait_for, write_config
from tests.e2e.helpers import cli, mails_to, text_of

JST = ZoneInfo("Asia/Tokyo")
MINE = "hanako@docomo.ne.jp"
# No hours and no staff: every time is open, whenever the test runs.
SHOP = """
[[shop.menus]]
name = "整体"
minutes = 30
grid = 5
reminders = ["2h"]
"""


def reminder_mails(outbox: Path) -> list[EmailMessage]:
    """The reminders in the outbox Maildir, oldest first, each checked to be ISO-2022-JP (a carrier's)."""
    found = [m for m in mails_to(outbox, MINE) if "ご予約のお知らせ" in str(m["Subject"])]
    assert all(next(m.iter_parts()).get_content_charset() == "iso-2022-jp" for m in found)
    return found


def starts_run(cfg: Path) -> int:
    """How many times a serve's first reminder run has finished."""
    with Session(db.make_engine(config.load(cfg).db_url)) as s:
        stmt = select(JobRun).where(JobRun.job == "send_reminders", col(JobRun.period).startswith("start"))
        return len(s.exec(stmt).all())


def at(when: datetime) -> str:
    return f"{when.astimezone(JST):%Y-%m-%d %H:%M}"


@pytest.mark.e2e
def test_a_reminder_is_sent_once_across_a_restart_and_again_for_the_moved_time(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "shop", shop='timezone = "Asia/Tokyo"\n' + SHOP)
    engine = db.make_engine(config.load(cfg).db_url)
    with db.transaction(engine) as s:
        s.add(Customer(email=MINE, email_key=MINE, status="active", name="山田花子"))
    # 100 minutes ahead on the 5-minute grid: its "2h" reminder came due some 20 minutes ago.
    now = datetime.now(UTC)
    start = (now + timedelta(minutes=105)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 5)
    booked = cli(cfg, "book", "--customer", MINE, "--menu", "整体", "--at", at(start))

    served = start_serve(cfg)
    try:
        [mail] = wait_for(lambda: reminder_mails(served.outbox), timeout=30)
        assert f"{start.astimezone(JST):%H:%M}〜" in text_of(mail)
    finally:
        served.stop()

    served = start_serve(cfg)  # a restart: its first run looks again, and finds it done
    try:
        wait_for(lambda: starts_run(cfg) == 2, timeout=30)
    finally:
        served.stop()
    assert len(reminder_mails(served.outbox)) == 1

    later = start + timedelta(minutes=10)
    cli(cfg, "change", str(booked["booking_id"]), "--at", at(later))
    served = start_serve(cfg)
    try:
        _, moved = wait_for(lambda: m if len(m := reminder_mails(served.outbox)) == 2 else None, timeout=30)
    finally:
        served.stop()
    assert f"{later.astimezone(JST):%H:%M}〜" in text_of(moved)
    with Session(engine) as s:
        rows = s.exec(select(Outbox).where(Outbox.template == "booking_reminder")).all()
    assert [r.state for r in rows] == [OutboxState.SENT, OutboxState.SENT]


@pytest.mark.e2e
def test_two_nodes_starting_together_send_a_due_reminder_once(tmp_path: Path, pg_db_url: str) -> None:
    shop = 'timezone = "Asia/Tokyo"\n' + SHOP
    nodes = [write_config(tmp_path / name, db_url=pg_db_url, shop=shop) for name in ("a", "b")]
    engine = db.make_engine(pg_db_url)
    with db.transaction(engine) as s:
        s.add(Customer(email=MINE, email_key=MINE, status="active", name="山田花子"))
    start = (datetime.now(UTC) + timedelta(minutes=105)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 5)  # its "2h" reminder came due some 20 minutes ago
    cli(nodes[0], "book", "--customer", MINE, "--menu", "整体", "--at", at(start))

    served = [start_serve(cfg) for cfg in nodes]  # each node's first run looks at once
    try:
        wait_for(lambda: starts_run(nodes[0]) == 2, timeout=60)
        wait_for(lambda: sum(len(reminder_mails(s.outbox)) for s in served) == 1, timeout=30)
    finally:
        for s in served:
            s.stop()
    assert sum(len(reminder_mails(s.outbox)) for s in served) == 1
    with Session(engine) as s:
        rows = s.exec(select(Outbox).where(Outbox.template == "booking_reminder")).all()
    assert [r.state for r in rows] == [OutboxState.SENT]
    engine.dispose()
