"""The clock inside `serve` (APScheduler): housekeeping jobs at their times, in the shop's zone."""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mailgate import jobs
from mailgate.context import Context


def start(ctx: Context) -> AsyncIOScheduler:
    """Must be called inside the running loop. Sync jobs run in the loop's thread pool."""
    scheduler = AsyncIOScheduler(timezone=ctx.cfg.tz)
    scheduler.add_job(
        jobs.expire_deferred,
        IntervalTrigger(minutes=jobs.EXPIRE_MINUTES),
        args=[ctx],
        id="expire_deferred",
        coalesce=True,
        max_instances=1,
    )
    # Each minute: tentative bookings not confirmed in time give their seats back.
    scheduler.add_job(
        jobs.expire_tentative,
        IntervalTrigger(minutes=1),
        args=[ctx],
        id="expire_tentative",
        coalesce=True,
        max_instances=1,
    )
    # Reminders each minute, and once at start (catching up what came due while it was down).
    scheduler.add_job(
        jobs.send_reminders, IntervalTrigger(minutes=1), args=[ctx], id="send_reminders", coalesce=True
    )
    scheduler.add_job(jobs.send_reminders, args=[ctx], kwargs={"at_start": True}, id="reminders_at_start")
    # Each minute: alerts held back for their interval go out when the next interval starts.
    scheduler.add_job(
        jobs.staff_alerts,
        IntervalTrigger(minutes=1),
        args=[ctx],
        id="staff_alerts",
        coalesce=True,
        max_instances=1,
    )
    # A digest missed while mailgate was down is still sent if it starts again that evening.
    _daily_at(scheduler, ctx, jobs.evening_digest, ctx.cfg.notices.digest_at, grace_hours=4)
    # Likewise the morning report if it starts again that morning.
    if ctx.cfg.report.morning_at:
        _daily_at(scheduler, ctx, jobs.morning_report, ctx.cfg.report.morning_at, grace_hours=3)
    # Every night at 03:10; a missed night is done at the next start that day.
    scheduler.add_job(
        jobs.purge_raw,
        CronTrigger(hour=3, minute=10, timezone=ctx.cfg.tz),
        args=[ctx],
        id="purge_raw",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=20 * 3600,
    )
    scheduler.start()
    return scheduler


def _daily_at(
    scheduler: AsyncIOScheduler, ctx: Context, job: Callable[..., object], hhmm: str, grace_hours: int
) -> None:
    hour, minute = (int(x) for x in hhmm.split(":"))
    scheduler.add_job(
        job,
        CronTrigger(hour=hour, minute=minute, timezone=ctx.cfg.tz),
        args=[ctx],
        id=job.__name__,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=grace_hours * 3600,
    )
