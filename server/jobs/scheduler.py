"""APScheduler 3.11 wiring: every registered job on its trigger, in every app process.

Running in several processes is safe: each run first claims its slot in job_runs.
"""

from __future__ import annotations

from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.jobs.registry import discover, run_job

log = structlog.get_logger("fieldsales.scheduler")


def build_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for spec in discover().values():
        trigger: Any
        if spec.cron:
            trigger = CronTrigger(timezone="UTC", **spec.cron)
        else:
            trigger = IntervalTrigger(seconds=spec.every_seconds or 900, timezone="UTC")

        async def tick(name: str = spec.name) -> None:
            try:
                await run_job(name, sessionmaker, settings, clock.now())
            except Exception:  # already logged with its traceback by run_job
                log.warning("scheduled_job_failed", job=name)

        scheduler.add_job(
            tick,
            trigger=trigger,
            id=spec.name,
            name=spec.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(30, (spec.every_seconds or 900) // 2),
            replace_existing=True,
        )
    return scheduler
