"""The day's notices with their outcomes: the double check staff did by hand every morning.

A day is either the day notices arrived (`received`) or the day of the appointments they are about
(`appointment`: the booking's start, or the start a change moved it from).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import Text, cast
from sqlmodel import Session, col, select

from mailgate.context import Context
from mailgate.models import Message, MessageState

# Message outcome tags (apply.Outcome.tag) as staff name them.
VERDICT = {
    "created": "applied",
    "moved": "applied",
    "cancelled": "applied",
    "inquiry": "applied",
    "recorded": "applied",
    "linked": "already in the ledger",
    "already": "already in the ledger",
    "conflict": "conflict",
    "deferred": "deferred",
    "held": "held",
}


@dataclass(frozen=True)
class Line:
    message_id: int
    received_at: datetime
    source: str
    action: str
    external_id: str
    start: str
    customer: str
    verdict: str  # applied | already in the ledger | conflict | deferred | held | failed | pending
    reason: str


By = Literal["received", "appointment"]


def _starts(intent: dict[str, Any]) -> list[str]:
    fields = intent.get("fields", {})
    return [s for s in (fields.get("start"), fields.get("previous", {}).get("start")) if s]


def _on(intent: dict[str, Any], day: date, ctx: Context) -> bool:
    return any(datetime.fromisoformat(s).astimezone(ctx.cfg.tz).date() == day for s in _starts(intent))


def day_notices(session: Session, ctx: Context, day: date, by: By = "received") -> list[Line]:
    if by == "received":
        start = datetime.combine(day, time(0), ctx.cfg.tz)
        stmt = select(Message).where(
            col(Message.received_at) >= start, col(Message.received_at) < start + timedelta(days=1)
        )
    else:
        # Times are written in the shop's zone (rules/ja), so the day is in the text: a coarse filter
        # in the database, the exact check below.
        stmt = select(Message).where(
            Message.state != MessageState.RECEIVED,
            cast(Message.decision, Text).like(f"%{day.isoformat()}T%"),
        )
    lines = []
    for m in session.exec(stmt.order_by(col(Message.received_at), col(Message.id))):
        intent = (m.decision or {}).get("intent", {})
        if by == "appointment" and not _on(intent, day, ctx):
            continue
        if m.state != MessageState.RECEIVED and not intent.get("source"):
            continue  # not a vendor notice (signup mail, noise)
        if m.state == MessageState.RECEIVED:
            verdict = "pending"
        elif m.state == MessageState.FAILED:
            verdict = "failed"
        else:
            tag = (m.decision or {}).get("outcome", {}).get("tag", "")
            verdict = VERDICT.get(tag, m.state)
        fields = intent.get("fields", {})
        lines.append(
            Line(
                message_id=m.id or 0,
                received_at=m.received_at,
                source=intent.get("source") or "-",
                action=intent.get("action", "-"),
                external_id=fields.get("external_id", ""),
                start=fields.get("start", ""),
                customer=intent.get("customer", {}).get("name", ""),
                verdict=verdict,
                reason=m.reason,
            )
        )
    if by == "appointment":
        lines.sort(key=lambda x: (x.start, x.received_at))
    return lines
