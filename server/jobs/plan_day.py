"""plan-day: close the days that have ended, then plan every rep past 06:00 local without a plan.

Safe to run in several processes at once: a rep's day is claimed by inserting its daily_plans
row (unique per rep and local date) with ON CONFLICT DO NOTHING before anything is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.core.services import Services
from server.jobs.registry import job
from server.services.tasks.planner import PlannerService
from server.services.tasks.tasks import TasksService


@job("plan-day", every_seconds=900)
async def run(services: Services, at: datetime) -> dict[str, Any]:
    """Mark unfinished tasks of ended days missed; make today's plan for reps past 06:00 local."""
    missed = await services.get(TasksService).close_days()
    planned = await services.get(PlannerService).plan_due_reps()
    return {"missed": missed, **planned}
