"""Forecast vs plan for many units at once, JSON-safe (the morning digest stores its content):
the month and quarter under way per unit with its plan, gap, "projected to miss" and the unit's
own track record at horizon 1 (one query for all of them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import ForecastAccuracy
from server.services.forecasts.current import CurrentForecast, CurrentForecasts


class ForecastSummaries(Service):
    async def for_units(
        self, tree: OrgTree, owners: Mapping[UUID, UUID], now: datetime
    ) -> dict[UUID, list[dict[str, Any]]]:
        """Per owner (e.g. a manager), their unit's current month and quarter forecast rows."""
        units = set(owners.values())
        current = await self.ctx.get(CurrentForecasts).for_companies(tree, now, units)
        records = await self._own_records(current)
        by_unit: dict[UUID, list[dict[str, Any]]] = {}
        for item in current:
            if item.row.scope == "org_unit":
                by_unit.setdefault(item.row.scope_id, []).append(
                    summary_row(item, records.get((item.refit_id, item.row.scope_id)))
                )
        return {owner: by_unit.get(unit, []) for owner, unit in owners.items()}

    async def _own_records(
        self, current: Iterable[CurrentForecast]
    ) -> dict[tuple[UUID, UUID], ForecastAccuracy]:
        # Horizon 1: the period under way, month or quarter (as ForecastQueries.track_record).
        items = list(current)
        if not items:
            return {}
        rows = await self.session.scalars(
            select(ForecastAccuracy).where(
                ForecastAccuracy.run_id.in_({c.refit_id for c in items}),
                ForecastAccuracy.scope_id.in_({c.row.scope_id for c in items}),
                ForecastAccuracy.horizon == 1,
            )
        )
        return {(r.run_id, r.scope_id): r for r in rows if r.scope_id is not None}


def summary_row(item: CurrentForecast, record: ForecastAccuracy | None) -> dict[str, Any]:
    row = item.row
    return {
        "scope": row.scope,
        "scope_id": str(row.scope_id),
        "period": row.period,
        "granularity": item.granularity,
        "as_of": row.as_of.isoformat(),
        "forecast": str(row.point),
        "low": str(row.low),
        "high": str(row.high),
        "actual": str(row.actual_to_date),
        "pipeline": None if row.pipeline is None else str(row.pipeline),
        "plan": None if item.plan is None else str(item.plan),
        "gap": None if item.gap_to_plan is None else str(item.gap_to_plan),
        "projected_to_miss": item.projected_to_miss,
        "method": row.method,
        "within": None if record is None or record.within is None else round(record.within, 4),
        "months": None if record is None else record.n,
    }
