"""The escalate sweep: pace warnings climb the rep -> manager -> executive ladder."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.core.services import Services
from server.jobs.registry import job
from server.services.escalations.sweep import EscalationsService


@job("escalate", every_seconds=900)
async def run(services: Services, at: datetime) -> dict[str, Any]:
    """Open, worsen, climb and resolve pace escalations; notify whoever is at the new level."""
    return await services.get(EscalationsService).sweep()
