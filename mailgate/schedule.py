"""The clock inside `serve` (APScheduler): housekeeping jobs at their times, in the shop's zone."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mailgate import jobs
from mailgate.context import Context


def start(ctx: Context) -> AsyncIOScheduler:
    """Must be called inside the running loop. Sync jobs run in the loop's thread pool."""
    hour, minute = (int(x) for x in ctx.cfg.notices.digest_at.split(":"))
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
    scheduler.add_job(
        jobs.evening_digest,
        CronTrigger(hour=hour, minute=minute, timezone=ctx.cfg.tz),
        args=[ctx],
        id="evening_digest",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=4 * 3600,
    )
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
