"""Tables of the promises the booking engine keeps while nobody watches: a reminder queued once per
booking version, and the waitlist of a full time (the ledger's reminders.py and waitlist.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from mailgate.models import UTCDateTime, utcnow
from mailgate.table_base import Table


def _ts() -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=True)


class ReminderState:
    QUEUED = "queued"  # its outbox row was queued
    SKIPPED = "skipped"  # its moment passed longer ago than [booking] reminder_catch_up
    WITHDRAWN = "withdrawn"  # queued, then the booking changed before it went: the outbox row too


class Reminder(Table, table=True):
    """One reminder of one version of a booking, queued or skipped: the unique key is what makes it
    once however many nodes, job runs and restarts (ledger/reminders.py)."""

    __table_args__ = (UniqueConstraint("booking_id", "kind", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int = Field(foreign_key="booking.id", index=True)
    kind: str = Field(max_length=40)  # "remind:" + the offset rule, e.g. "remind:1d18:00"
    version: int  # the booking's version it was for
    due_at: datetime = Field(sa_type=UTCDateTime())
    state: str = Field(default=ReminderState.QUEUED, max_length=16)
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")
    reason: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class WaitState:
    WAITING = "waiting"
    OFFERED = "offered"  # a freed seat is held for them (the entry's booking) until offer_until
    CLAIMED = "claimed"
    SKIPPED = "skipped"  # booked another time meanwhile, or over their limits, when a seat freed
    EXPIRED = "expired"  # the offer ran out, or the time passed while waiting
    LEFT = "left"  # they cancelled the held seat
    OPEN = (WAITING, OFFERED)


class WaitEntry(Table, table=True):
    """A customer waiting for a full time (キャンセル待ち), first come first offered."""

    __tablename__ = "waitlist"

    id: int | None = Field(default=None, primary_key=True)  # the order of the line
    customer_id: int = Field(foreign_key="customer.id", index=True)
    menu: str = Field(max_length=200)
    start: datetime = Field(sa_type=UTCDateTime(), index=True)
    staff: str | None = Field(default=None, max_length=100)  # None: anyone
    state: str = Field(default=WaitState.WAITING, max_length=16, index=True)
    # "customer:start" while waiting or offered, NULL after: one open entry per customer and time.
    open_key: str | None = Field(default=None, max_length=80, unique=True)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True)  # the held seat
    offer_until: datetime | None = _ts()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
