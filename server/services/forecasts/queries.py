"""Reading forecasts: the latest one for a scope and period with its plan and track record, and
the accuracy table (the target proposal is in proposals.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select

from server.core.errors import field_error
from server.core.services import Service
from server.db.models import Forecast, ForecastAccuracy, ForecastRun, OrgUnit, Target
from server.domain.forecast import month_key, period_bounds

CENT = Decimal("0.01")


@dataclass
class ForecastView:
    row: Forecast
    plan: Decimal | None
    accuracy: dict[str, Any] | None

    @property
    def gap_to_plan(self) -> Decimal | None:
        return None if self.plan is None else (self.row.point - self.plan)

    @property
    def projected_to_miss(self) -> bool:
        return self.plan is not None and self.row.high < self.plan


def check_period(period: str) -> str:
    try:
        period_bounds(period)
    except ValueError as exc:
        raise field_error("period", str(exc), 422) from None
    return period.upper() if "q" in period.lower() else period


class ForecastQueries(Service):
    async def latest(self, scope: str, scope_id: UUID, period: str) -> ForecastView | None:
        """The newest stored forecast of this scope and period (refit or nightly update)."""
        found = (
            await self.session.execute(
                select(Forecast, ForecastRun)
                .join(ForecastRun, ForecastRun.id == Forecast.run_id)
                .where(Forecast.scope == scope, Forecast.scope_id == scope_id, Forecast.period == period)
                .order_by(Forecast.as_of.desc(), ForecastRun.created_at.desc())
                .limit(1)
            )
        ).first()
        if found is None:
            return None
        row, run = found
        return ForecastView(
            row=row,
            plan=await self.plan(scope, scope_id, period),
            accuracy=await self.track_record(
                run.refit_id or run.id, row.level, _horizon(row.as_of, period), row.scope_id
            ),
        )

    async def plan(self, scope: str, scope_id: UUID, period: str) -> Decimal | None:
        """The approved revenue target of the period (a quarter without one: its months' sum)."""
        start, end, kind = period_bounds(period)
        base = select(func.sum(Target.amount), func.count()).where(
            Target.scope == scope,
            Target.scope_id == scope_id,
            Target.metric == "revenue",
            Target.status == "approved",
        )
        total, count = (
            await self.session.execute(base.where(Target.granularity == kind, Target.period_start == start))
        ).one()
        if count:
            return Decimal(total)
        if kind == "quarter":
            total, count = (
                await self.session.execute(
                    base.where(
                        Target.granularity == "month", Target.period_start >= start, Target.period_end <= end
                    )
                )
            ).one()
            if count == 3:
                return Decimal(total)
        return None

    async def track_record(
        self, refit_id: UUID, level: str, horizon: int, scope_id: UUID | None = None
    ) -> dict[str, Any] | None:
        """The scope's own backtest at this horizon (`months` = origins scored); the level's when
        the scope has none."""
        rows = (
            await self.session.scalars(
                select(ForecastAccuracy).where(
                    ForecastAccuracy.run_id == refit_id,
                    ForecastAccuracy.level == level,
                    ForecastAccuracy.horizon == horizon,
                    or_(ForecastAccuracy.scope_id.is_(None), ForecastAccuracy.scope_id == scope_id),
                )
            )
        ).all()
        own = next((r for r in rows if r.scope_id is not None and r.scope_id == scope_id), None)
        if own is not None:
            return {**accuracy_out(own), "months": own.n, "own": True}
        whole = next((r for r in rows if r.scope_id is None), None)
        if whole is None:
            return None
        series = await self.session.scalar(
            select(func.count(func.distinct(Forecast.scope_id))).where(
                Forecast.run_id == refit_id, Forecast.level == level
            )
        )
        return {**accuracy_out(whole), "months": whole.n // series if series else 0, "own": False}

    async def accuracy(self, company_id: UUID) -> tuple[ForecastRun | None, list[ForecastAccuracy]]:
        """The latest refit's backtest per level and horizon."""
        run = await self.session.scalar(
            select(ForecastRun)
            .where(ForecastRun.company_id == company_id, ForecastRun.kind == "refit")
            .order_by(ForecastRun.as_of.desc(), ForecastRun.created_at.desc())
            .limit(1)
        )
        if run is None:
            return None, []
        rows = await self.session.scalars(
            select(ForecastAccuracy)
            .where(ForecastAccuracy.run_id == run.id, ForecastAccuracy.scope_id.is_(None))
            .order_by(ForecastAccuracy.level, ForecastAccuracy.horizon)
        )
        return run, list(rows)


def accuracy_out(row: ForecastAccuracy) -> dict[str, Any]:
    return {
        "level": row.level,
        "horizon": row.horizon,
        "method": row.method,
        "wape": _round(row.wape),
        "bias": _round(row.bias),
        "mase": _round(row.mase),
        "within": _round(row.within),
        "n": row.n,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _horizon(as_of: Any, period: str) -> int:
    """1 for the period under way (month or quarter), 2 for the next month, up to 3."""
    start, _, kind = period_bounds(period)
    if kind == "quarter":
        return 1 if start <= as_of else 3
    first = month_key(as_of)
    ahead = (int(period[:4]) - int(first[:4])) * 12 + int(period[5:7]) - int(first[5:7])
    return max(1, min(3, ahead + 1))


async def unit_exists(session: Any, unit_id: UUID) -> bool:
    return await session.scalar(select(OrgUnit.id).where(OrgUnit.id == unit_id)) is not None


@dataclass(frozen=True)
class HistoryPoint:
    as_of: date
    kind: str  # refit | update
    point: Decimal
    low: Decimal
    high: Decimal
    actual_to_date: Decimal
    method: str


class ForecastHistory(Service):
    async def moves(self, scope: str, scope_id: UUID, period: str, by: str = "week") -> list[HistoryPoint]:
        """How the forecast of one scope and period moved, from the stored runs, oldest first:
        every run (`by="day"`) or the last one of each ISO week (`by="week"`)."""
        rows = await self.session.execute(
            select(
                Forecast.as_of,
                ForecastRun.kind,
                Forecast.point,
                Forecast.low,
                Forecast.high,
                Forecast.actual_to_date,
                Forecast.method,
            )
            .join(ForecastRun, ForecastRun.id == Forecast.run_id)
            .where(Forecast.scope == scope, Forecast.scope_id == scope_id, Forecast.period == period)
            .order_by(Forecast.as_of, ForecastRun.created_at)
        )
        points = [HistoryPoint(*row) for row in rows]
        if by == "day":
            return points
        last_of_week: dict[tuple[int, int], HistoryPoint] = {}
        for item in points:
            iso = item.as_of.isocalendar()
            last_of_week[(iso.year, iso.week)] = item
        return list(last_of_week.values())
