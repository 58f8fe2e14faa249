"""Tell executives once a week while a region is under 70% of its expected-to-date."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.core.services import Services
from server.jobs.registry import job
from server.services.org.reallocation import ReallocationService


@job("reallocation-weekly", every_seconds=3600)
async def run(services: Services, at: datetime) -> dict[str, Any]:
    """One push per executive per ISO week listing the regions under the threshold (idempotent)."""
    return await services.get(ReallocationService).weekly_push()
