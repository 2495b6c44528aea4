"""Periodic work: deferred notices that waited too long, the evening inquiry digest, staff alerts that
waited for their interval.

Every node's scheduler fires every job; each run first claims its period in the job_run table
(unique per job and period) in the transaction that does the work, so a job runs once per period
however many nodes run, and a restart inside the period does not run it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mailgate import db, leases
from mailgate.context import Context
from mailgate.ledger import fitting, inquiries, reminders, waitlist
from mailgate.ledger import morning_report as morning
from mailgate.ledger import staff_alerts as alerts
from mailgate.models import utcnow
from mailgate.pipeline import deferred, retention

log = logging.getLogger("mailgate.jobs")
EXPIRE_MINUTES = 10


def once(engine: Engine, job: str, period: str, work: Callable[[Session], object]) -> bool:
    """Run `work` for this period unless some node already did; True when it ran here."""
    with db.transaction(engine) as session:
        run = leases.claim_period(session, job, period)
        if run is None:
            return False
        run.result = str(work(session))[:500]
        session.add(run)
    return True


def expire_deferred(ctx: Context, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    bucket = now.replace(minute=now.minute - now.minute % EXPIRE_MINUTES, second=0, microsecond=0)
    held: list[int] = []
    once(
        ctx.engine,
        "expire_deferred",
        bucket.isoformat(),
        lambda s: held.extend(deferred.expire(s, ctx.cfg, now)),
    )
    for message_id in held:
        log.warning("msg=%s held: the booking it waits for never arrived", message_id)
    return held


def daily(ctx: Context, job: str, now: datetime, work: Callable[[Session, date], int]) -> int:
    """`work` for the shop's day of `now`, once a day however many nodes run (a restart after the hour
    does not run it twice); what it returned, 0 when another run did it."""
    day = now.astimezone(ctx.cfg.tz).date()
    done: list[int] = []
    once(ctx.engine, job, day.isoformat(), lambda s: done.append(work(s, day)))
    return done[0] if done else 0


def evening_digest(ctx: Context, now: datetime | None = None) -> int:
    """Today's unbooked inquiries to staff, once a day."""
    now = now or utcnow()
    count = daily(ctx, "evening_digest", now, lambda s, day: inquiries.send_digest(s, ctx.ledger, day, now))
    if count:
        log.info("inquiry digest: %s inquiries", count)
    return count


def morning_report(ctx: Context, now: datetime | None = None) -> int:
    """The day's morning report to staff (ledger/morning_report.py), once a day; how many addresses
    it went to."""
    now = now or utcnow()
    if not ctx.cfg.report.morning_at or not ctx.cfg.shop.staff_alerts:
        return 0
    sent = daily(ctx, "morning_report", now, lambda s, day: morning.send(s, ctx.ledger, day, now))
    if sent:
        log.info("morning report to %s staff addresses", sent)
    return sent


def staff_alerts(ctx: Context, now: datetime | None = None) -> int:
    """Alerts that waited for this interval, in one mail per staff address (ledger/staff_alerts.py:
    the interval's claim makes it once however many nodes run). Returns how many went out."""
    now = now or utcnow()
    with db.transaction(db.reading(ctx.engine)) as s:
        if not alerts.has_pending(s):  # the usual minute: nothing to claim
            return 0
    with db.transaction(ctx.engine) as s:
        sent = alerts.send_pending(s, ctx.ledger, now)
    if sent:
        log.info("staff alerts: %s in one mail per staff address", sent)
    return sent


def expire_tentative(ctx: Context, now: datetime | None = None) -> list[int]:
    """Tentative bookings (仮予約, waitlist offers) whose hold ran out: expired, their seats free and
    offered to those waiting (ledger/waitlist.py), once per minute, in one transaction."""
    now = now or utcnow()
    expired: list[int] = []
    offered: list[int] = []
    minute = now.replace(second=0, microsecond=0).isoformat()

    def work(s: Session) -> str:
        waitlist.hold_days(s, ctx.ledger, now)
        expired.extend(fitting.expire_due(s, now, ctx.ledger))
        offered.extend(waitlist.sweep(s, ctx.ledger, now))
        return f"{len(expired)} expired, {len(offered)} offered"

    once(ctx.engine, "expire_tentative", minute, work)
    for booking_id in expired:
        log.info("booking=%s expired: not confirmed in time, its seat is free again", booking_id)
    for entry_id in offered:
        log.info("waitlist=%s offered a freed seat", entry_id)
    return expired


def send_reminders(ctx: Context, now: datetime | None = None, *, at_start: bool = False) -> list[int]:
    """Reminder mails due this minute, or missed within [booking] reminder_catch_up: the outbox ids.
    Each is once per booking version however many runs (ledger/reminders.py), so a node's first run
    after it starts always looks (its own period), catching up what came due while it was down."""
    now = now or utcnow()
    if not ctx.cfg.booking.reminders and not any(m.reminders for m in ctx.ledger.calendar.menus):
        return []
    done: list[reminders.Queued] = []
    period = f"start {now.isoformat()}" if at_start else now.replace(second=0, microsecond=0).isoformat()
    once(ctx.engine, "send_reminders", period, lambda s: done.append(reminders.queue_due(s, ctx.ledger, now)))
    if done and (done[0].sent or done[0].skipped):
        log.info("reminders: %s", done[0])
    return done[0].sent if done else []


def purge_raw(ctx: Context, now: datetime | None = None) -> int:
    """Raw mail past `[retention] raw_days`, once a day: how many messages were purged."""
    now = now or utcnow()
    day = now.astimezone(ctx.cfg.tz).date()
    done: list[retention.Purge] = []

    def work(session: Session) -> str:
        done.append(retention.purge_in(session, ctx.cfg, now))
        return f"{len(done[0].messages)} messages, {len(done[0].outbox)} sent mails"

    once(ctx.engine, "purge_raw", day.isoformat(), work)
    if not done:
        return 0
    retention.finish(ctx, done[0])
    if done[0].messages or done[0].outbox:
        log.info(
            "retention: purged %s raw messages and %s sent mails", len(done[0].messages), len(done[0].outbox)
        )
    return len(done[0].messages)
