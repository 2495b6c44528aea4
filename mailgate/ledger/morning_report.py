"""The morning report: what the desk double-checks before opening, in one mail to staff ([shop]
staff_alerts) — the day's ledger per staff member, conflicts new since the last report, held
messages, open inquiries whose next action is due, operators' notes due (tasks).

Each part is a function of SECTIONS (session, env, the report's day) -> Part, so a new part (tasks
due) is one more function; the mail lists them in that order, each with its heading and lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from mailgate import audit
from mailgate.audit import SYSTEM
from mailgate.ledger import staff_alerts
from mailgate.ledger.day_sheet import NO_ONE, sheet
from mailgate.ledger.env import LedgerEnv
from mailgate.ledger.listing import bookings_on
from mailgate.ledger.tasks import due_tasks
from mailgate.models import Booking, Conflict, Event, Inquiry, InquiryStatus, Message, MessageState

SENT = "morning_report_sent"  # the audit event of each report mailed: the next one's "since"
# Free gaps shorter than this (a menu's buffer) are left out: on a phone they are only noise.
SHORTEST_FREE = 30
STATUS_JA = {"open": "未対応", "waiting": "返事待ち", "done": "完了"}


@dataclass(frozen=True)
class Day:
    day: date
    now: datetime
    since: datetime  # the last report's time: conflicts recorded after it are new


@dataclass(frozen=True)
class Part:
    key: str
    title: str
    lines: list[str] = field(default_factory=list)
    count: int = 0
    empty: str = "なし"


Section = Callable[[Session, LedgerEnv, Day], Part]


def last_sent(session: Session, before: datetime) -> datetime | None:
    stmt = select(Event.at).where(Event.kind == SENT, col(Event.at) < before).order_by(col(Event.at).desc())
    return session.exec(stmt).first()


def day_of(session: Session, day: date, now: datetime) -> Day:
    """The report of `day` as of `now`; before any report, "new" means the last 24 hours."""
    return Day(day, now, last_sent(session, now) or now - timedelta(days=1))


def ledger_part(session: Session, env: LedgerEnv, d: Day) -> Part:
    tz = env.cfg.tz
    rows = sheet(env.calendar, d.day, bookings_on(session, tz, d.day))
    lines: list[str] = []
    count = 0
    for name, entries in rows.items():
        booked = [e for e in entries if e["kind"] == "booking"]
        count += len(booked)
        lines.append(
            f"■ {name or '担当なし'}（{len(booked)}件）" if entries or name == NO_ONE else f"■ {name}：休み"
        )
        for e in entries:
            if e["kind"] == "free":
                if _minutes(e["end"]) - _minutes(e["start"]) >= SHORTEST_FREE:
                    lines.append(f"  {e['start']}-{e['end']} 空き")
                continue
            if e["kind"] == "break":
                lines.append(f"  {e['start']}-{e['end']} 休憩")
                continue
            mark = " ⚠重複" if e["open_conflicts"] else ""
            tentative = " (仮)" if e["status"] != "confirmed" else ""
            lines.append(
                f"  {e['start_local'][11:]}-{e['end_local'][11:]} {e['customer'] or '-'}様 "
                f"{e['menu']} [{e['source']}]{tentative}{mark}"
            )
    return Part("ledger", f"本日の予約 {d.day:%m/%d}", lines, count, "予約なし")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def conflicts_part(session: Session, env: LedgerEnv, d: Day) -> Part:
    stmt = (
        select(Conflict, Booking)
        .join(Booking, col(Booking.id) == Conflict.booking_id)
        .where(col(Conflict.resolved_at).is_(None), col(Conflict.created_at) > d.since)
        .order_by(col(Booking.start), col(Conflict.id))
    )
    lines = [
        f"  [{c.id}] {b.start.astimezone(env.cfg.tz):%m/%d %H:%M} {b.staff or '指名なし'} 予約#{b.id} "
        f"{' / '.join(c.reasons)}"
        for c, b in session.exec(stmt)
    ]
    return Part("conflicts", "新しい重複・要確認", lines, len(lines))


def held_part(session: Session, env: LedgerEnv, d: Day) -> Part:
    stmt = select(Message).where(Message.state == MessageState.HELD).order_by(col(Message.received_at))
    lines = [
        f"  [{m.id}] {m.received_at.astimezone(env.cfg.tz):%m/%d %H:%M} {m.subject[:40] or '(件名なし)'}\n"
        f"      {m.reason[:80]}"
        for m in session.exec(stmt)
    ]
    return Part("held", "保留中のメール（確認待ち）", lines, len(lines))


def inquiries_part(session: Session, env: LedgerEnv, d: Day) -> Part:
    """Not done, and either with no next-action date or with one due by the report's day."""
    stmt = (
        select(Inquiry)
        .where(
            Inquiry.status != InquiryStatus.DONE,
            or_(col(Inquiry.next_action_on).is_(None), col(Inquiry.next_action_on) <= d.day),
        )
        .order_by(col(Inquiry.received_at))
    )
    lines = []
    for q in session.exec(stmt):
        due = f" 対応日{q.next_action_on:%m/%d}" if q.next_action_on else ""
        who = f" 担当{q.assignee}" if q.assignee else ""
        lines.append(
            f"  [{q.id}] {q.received_at.astimezone(env.cfg.tz):%m/%d} {q.name or q.email or '-'} "
            f"{STATUS_JA.get(q.status, q.status)}{who}{due}"
        )
    return Part("inquiries", "対応が必要なお問い合わせ", lines, len(lines))


def tasks_part(session: Session, env: LedgerEnv, d: Day) -> Part:
    """Operators' notes due by the report's day or overdue (inquiries have their own part above)."""
    lines = [
        f"  [メモ{t.id}] {'期限切れ ' if t.overdue else ''}{t.next_on:%m/%d} {t.customer or '-'}: "
        f"{t.title[:40]} {t.status_label}{f' 担当{t.assignee}' if t.assignee else ''}"
        for t in due_tasks(session, d.day)
        if t.kind == "note" and t.next_on is not None
    ]
    return Part("tasks", "今日までの対応メモ", lines, len(lines))


SECTIONS: list[Section] = [ledger_part, conflicts_part, held_part, inquiries_part, tasks_part]


def build(session: Session, env: LedgerEnv, day: date, now: datetime) -> list[Part]:
    d = day_of(session, day, now)
    return [section(session, env, d) for section in SECTIONS]


def as_json(parts: list[Part]) -> list[dict[str, Any]]:
    return [{"key": p.key, "title": p.title, "count": p.count, "lines": p.lines} for p in parts]


def send(session: Session, env: LedgerEnv, day: date, now: datetime) -> int:
    """Queue the report to every [shop] staff_alerts address; how many addresses (0: none set)."""
    if not env.cfg.shop.staff_alerts:
        return 0
    parts = build(session, env, day, now)
    staff_alerts.to_staff(session, env, "morning_report", now, parts=parts, day=day)
    audit.by(session, SENT, SYSTEM, day=day.isoformat(), **{p.key: p.count for p in parts}, at=now)
    return len(env.cfg.shop.staff_alerts)
