"""The "projected to miss" rule for the escalate sweep: a rep's or unit's latest forecast of the
month or quarter under way whose 80% upper bound is below its approved plan.

Its own rule code and dedup key (forecast_miss:<subject>:<id>:<period>), so it opens, climbs and
resolves beside the pace rules: when a later forecast's upper bound reaches the plan again (or the
plan changes), the finding is gone and the sweep resolves it after two clear sweeps in a row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from server.core.org import OrgTree
from server.core.services import Services
from server.db.models import User
from server.domain.escalation import FORECAST_MISS, dedup_key, forecast_miss_start
from server.domain.forecast import period_bounds
from server.services.escalations.findings import Finding
from server.services.forecasts.current import CurrentForecast, CurrentForecasts


async def find_forecast_misses(services: Services, tree: OrgTree, now: datetime) -> list[Finding]:
    """One finding per scope and period under way projected to miss its plan."""
    current = [
        c for c in await services.get(CurrentForecasts).for_companies(tree, now) if c.projected_to_miss
    ]
    rep_ids = [c.row.scope_id for c in current if c.row.scope == "user"]
    rep_units: dict[UUID, UUID | None] = {}
    if rep_ids:
        rows = await services.session.execute(
            select(User.id, User.org_unit_id).where(User.id.in_(rep_ids), User.active.is_(True))
        )
        rep_units = {row.id: row.org_unit_id for row in rows}
    findings: list[Finding] = []
    for item in current:
        row = item.row
        if row.scope == "user" and row.scope_id not in rep_units:
            continue  # deactivated since the run
        severity, level = forecast_miss_start(row.scope)
        findings.append(
            Finding(
                key=dedup_key(FORECAST_MISS, row.scope, row.scope_id, row.period),
                rule=FORECAST_MISS,
                subject_type=row.scope,
                subject_id=row.scope_id,
                org_unit_id=rep_units[row.scope_id] if row.scope == "user" else row.scope_id,
                severity=severity.value,
                level=level,
                snapshot=miss_snapshot(item),
            )
        )
    return findings


def miss_snapshot(item: CurrentForecast) -> dict[str, Any]:
    """The figures behind the warning, JSON-safe (decimals as strings)."""
    row = item.row
    start, end, _kind = period_bounds(row.period)
    return {
        "rule": FORECAST_MISS,
        "metric": "revenue",
        "granularity": item.granularity,
        "period": row.period,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "as_of": row.as_of.isoformat(),
        "forecast": str(row.point),
        "low": str(row.low),
        "high": str(row.high),
        "plan": str(item.plan),
        "actual": str(row.actual_to_date),
        "gap": str(item.gap_to_plan),
        "method": row.method,
    }
