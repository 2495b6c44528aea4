"""The morning report on the generated month (SQLite and PostgreSQL): one mail a day to staff however
many nodes run the job, with the day's bookings per staff member, the conflicts new since the last
report, held messages and the inquiries that need an action; `mailgate report morning` prints it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailgate import config, db, jobs
from mailgate.context import Context
from mailgate.ledger import notes
from mailgate.models import Booking, Conflict, Inquiry, Message, MessageState, Outbox
from tests.cli.test_desk import run
from tests.e2e.helpers import cli

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = date(2031, 12, 3)
AT = datetime(2031, 12, 3, 8, 30, tzinfo=TOKYO)  # given, never the clock: nothing depends on the hour
DESK = "desk@seitai.example"


def with_report(month: Path) -> Path:
    text = month.read_text(encoding="utf-8").replace("[shop]\n", f'[shop]\nstaff_alerts = ["{DESK}"]\n', 1)
    month.write_text(text + '\n[report]\nmorning_at = "08:30"\n', encoding="utf-8")
    return month


def troubles(ctx: Context) -> Booking:
    """A conflict on a booking of the day, a held message, three inquiries (one due, one done, one
    not due before Friday), two notes (one overdue, one next week); returns the conflicted booking."""
    with db.transaction(ctx.engine) as s:
        start = datetime(2031, 12, 3, 0, 0, tzinfo=TOKYO)
        booking = s.exec(
            select(Booking).where(col(Booking.start) >= start).order_by(col(Booking.start))
        ).first()
        assert booking is not None
        s.add(
            Conflict(
                booking_id=booking.id or 0,
                reasons=["担当が重なっています"],
                created_at=AT - timedelta(hours=9),
            )
        )
        s.add(
            Message(
                dedupe_key="held-1",
                rcpt="notices@seitai.example",
                via="smtp",
                spool_path="x/held-1",
                size=10,
                subject="予約が入りました（読めない形式）",
                state=MessageState.HELD,
                reason="no rule takes it",
                received_at=AT - timedelta(hours=12),
            )
        )
        for name, status, next_on in (
            ("問合太郎", "open", None),
            ("完了花子", "done", None),
            ("先日次郎", "waiting", DAY + timedelta(days=2)),
        ):
            s.add(Inquiry(source="stores", kind="question", name=name, status=status, next_action_on=next_on))
        for title, next_on in (
            ("回数券の残りを伝える", DAY - timedelta(days=1)),
            ("来週の確認電話", DAY + timedelta(days=5)),
        ):
            text = notes.NoteText(title, assignee="田中", next_on=next_on)
            notes.add_note(s, booking.customer_id or 0, text, operator="佐藤", now=AT - timedelta(days=2))
        s.expunge(booking)
    return booking


def reports(ctx: Context) -> list[Outbox]:
    with Session(ctx.engine) as s:
        return list(
            s.exec(select(Outbox).where(Outbox.template == "morning_report").order_by(col(Outbox.id)))
        )


def test_two_nodes_send_one_morning_report_a_day_listing_what_the_desk_must_check(month: Path) -> None:
    cfg = config.load(with_report(month))
    node_a, node_b = Context.build(cfg), Context.build(cfg)
    try:
        booking = troubles(node_a)
        printed = cli(month, "report", "morning", "--date", DAY.isoformat())
        counts = {p["key"]: p["count"] for p in printed["sections"]}
        assert counts["conflicts"] == counts["held"] == counts["inquiries"] == counts["tasks"] == 1
        assert counts["ledger"] >= 10

        assert jobs.morning_report(node_a, AT) == 1
        assert jobs.morning_report(node_b, AT + timedelta(minutes=1)) == 0  # the other node: done today
        [mail] = reports(node_a)
        assert mail.to_addr == DESK and mail.header_message_id and "朝の確認" in mail.subject
        body = mail.body
        assert "■ 佐藤" in body and f"{booking.start.astimezone(TOKYO):%H:%M}" in body and "⚠重複" in body
        assert "担当が重なっています" in body and "読めない形式" in body
        assert "問合太郎" in body and "完了花子" not in body and "先日次郎" not in body
        assert "期限切れ" in body and "回数券の残りを伝える" in body and "来週の確認電話" not in body
        assert "13:00-14:00 休憩" in body  # the lunch break, never shown as free time

        assert jobs.morning_report(node_b, AT + timedelta(days=1)) == 1  # the next morning
        later = reports(node_a)[-1].body
        assert len(reports(node_a)) == 2
        assert "担当が重なっています" not in later  # not new any more
        assert "読めない形式" in later  # still waiting for an operator
    finally:
        node_a.engine.dispose()
        node_b.engine.dispose()


def test_the_operator_prints_the_report_and_sends_it_now(month: Path) -> None:
    code, said = run(month, "report", "morning", "--date", DAY.isoformat())
    assert code == 0 and "本日の予約 12/03" in said and "■ 佐藤" in said
    code, said = run(month, "report", "morning", "--send")
    assert code == 1 and "staff_alerts" in said  # nobody to send it to
    code, said = run(with_report(month), "report", "morning", "--date", DAY.isoformat(), "--send")
    assert code == 0, said
    cfg = config.load(month)
    with Session(db.make_engine(cfg.db_url)) as s:
        assert s.exec(select(Outbox.to_addr).where(Outbox.template == "morning_report")).all() == [DESK]
