"""The managers' morning digest: one per manager per local day, past 07:30 local."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.core.services import Services
from server.jobs.registry import job
from server.services.escalations.digests import DigestsService


@job("digest", every_seconds=900)
async def run(services: Services, at: datetime) -> dict[str, Any]:
    """Build today's digest for every manager whose local time is past 07:30 and who has none."""
    return await services.get(DigestsService).sweep()
