"""Remind reps of overdue tasks; copy the manager when a task stays untouched."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.core.services import Services
from server.jobs.registry import job
from server.services.notifications.reminders import RemindersService


@job("remind-overdue", every_seconds=300)
async def run(services: Services, at: datetime) -> dict[str, Any]:
    """Queue due overdue-task reminders for every rep (set-based, idempotent per task and stage)."""
    return await services.get(RemindersService).remind_overdue()
