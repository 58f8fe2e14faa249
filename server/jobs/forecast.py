"""Forecasts: a full refit early on Monday (company time) and a nightly in-period update.

Hourly ticks; a company's day is done once per kind (forecast_runs is unique per company, kind and
local date), so a missed tick is caught up by the next one and two processes never both do it.
The model code (statsforecast, numba) is imported inside the service call, never at app start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from server.core.org import OrgTree
from server.core.services import Services
from server.jobs.registry import job
from server.services.forecasts.service import ForecastService

REFIT_HOUR = 3  # Monday, company-local
UPDATE_HOUR = 2  # every night, company-local


@job(
    "forecast", every_seconds=3600, description="Weekly forecast refit (Monday) and nightly in-period update"
)
async def run(services: Services, at: datetime) -> dict[str, Any]:
    """Refit every company's forecasts on Monday morning, update the in-period part nightly."""
    tree = await OrgTree.load(services.session)
    forecasts = services.get(ForecastService)
    refits = updates = 0
    for company in sorted(tree.companies(), key=str):
        local = at.astimezone(ZoneInfo(tree.timezone(company)))
        if local.hour < UPDATE_HOUR:
            continue
        today = local.date()
        if local.weekday() == 0:  # Monday: the refit (from 03:00) replaces the nightly update
            if local.hour >= REFIT_HOUR:
                refits += await forecasts.refit(company, today) is not None
            continue
        if await forecasts.has_run(company, today):
            continue
        if await forecasts.update(company, today) is not None:
            updates += 1
        elif not await forecasts.has_refit(company):
            refits += await forecasts.refit(company, today) is not None
    return {"refits": refits, "updates": updates}
