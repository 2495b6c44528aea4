"""The clock inside serve: the evening digest at [notices] digest_at in the shop's zone; the periodic jobs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailgate import config, schedule
from mailgate.context import Context
from tests.conftest import write_config


def test_the_digest_and_morning_report_run_at_their_times_in_the_shops_time_zone(tmp_path: Path) -> None:
    path = write_config(tmp_path, '\n[notices]\ndigest_at = "18:30"\n[report]\nmorning_at = "08:30"\n')
    ctx = Context.build(config.load(path))

    async def jobs() -> dict[str, str]:
        scheduler = schedule.start(ctx)
        try:
            return {
                job.id: job.next_run_time.astimezone(ctx.cfg.tz).strftime("%H:%M")
                for job in scheduler.get_jobs()
            }
        finally:
            scheduler.shutdown(wait=False)

    found = asyncio.run(jobs())
    assert found["evening_digest"] == "18:30" and found["morning_report"] == "08:30"
    assert "expire_deferred" in found and "staff_alerts" in found
