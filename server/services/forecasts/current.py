"""The forecasts of the periods under way, in bulk: for every scope of every company, the latest
run's month and quarter forecast with its approved plan (a few queries however many scopes).

Used by the escalate sweep ("projected to miss"), the manager's home, the stand-up board and the
morning digest. A run older than `STALE_AFTER` is not used: the job has stopped and its actuals
to date no longer tell where the period will land.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sqlalchemy import func, select

from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import Forecast, ForecastRun, Target
from server.domain.calendar import local_date
from server.domain.escalation import projected_to_miss
from server.domain.forecast import month_key, period_bounds, quarter_key

STALE_AFTER = timedelta(days=8)  # a weekly refit plus a missed night


@dataclass(frozen=True)
class CurrentForecast:
    row: Forecast
    plan: Decimal | None
    today: date  # the company-local date it was read for
    refit_id: UUID

    @property
    def granularity(self) -> str:
        return "quarter" if "Q" in self.row.period else "month"

    @property
    def gap_to_plan(self) -> Decimal | None:
        return None if self.plan is None else self.row.point - self.plan

    @property
    def projected_to_miss(self) -> bool:
        return projected_to_miss(self.row.high, self.plan)


class CurrentForecasts(Service):
    async def for_companies(
        self, tree: OrgTree, now: datetime, scope_ids: Iterable[UUID] | None = None
    ) -> list[CurrentForecast]:
        """This month's and this quarter's latest forecast per scope (only `scope_ids` if given)."""
        wanted = set(scope_ids) if scope_ids is not None else None
        found: list[CurrentForecast] = []
        for company in sorted(tree.companies(), key=str):
            today = local_date(now, tree.timezone(company))
            run = await self.session.scalar(
                select(ForecastRun)
                .where(
                    ForecastRun.company_id == company,
                    ForecastRun.as_of <= today,
                    ForecastRun.as_of > today - STALE_AFTER,
                )
                .order_by(ForecastRun.as_of.desc(), ForecastRun.created_at.desc())
                .limit(1)
            )
            if run is None:
                continue
            periods = [month_key(today), quarter_key(today)]
            query = select(Forecast).where(Forecast.run_id == run.id, Forecast.period.in_(periods))
            if wanted is not None and len(wanted) <= 500:
                query = query.where(Forecast.scope_id.in_(wanted))
            rows = [r for r in await self.session.scalars(query) if wanted is None or r.scope_id in wanted]
            plans = await self.plans(periods)
            refit_id = run.refit_id or run.id
            found += [
                CurrentForecast(r, plans.get((r.scope, r.scope_id, r.period)), today, refit_id)
                for r in sorted(rows, key=lambda r: (r.scope, str(r.scope_id), r.period))
            ]
        return found

    async def plans(self, periods: list[str]) -> dict[tuple[str, UUID, str], Decimal]:
        """Approved revenue targets per (scope, scope_id, period) for months and quarters; a quarter
        without its own target: the sum of its three approved months (as ForecastQueries.plan)."""
        starts: dict[tuple[str, date], str] = {}
        quarter_months: dict[date, str] = {}
        for period in periods:
            start, _end, kind = period_bounds(period)
            starts[(kind, start)] = period
            if kind == "quarter":
                for offset in range(3):
                    quarter_months[date(start.year, start.month + offset, 1)] = period
        all_starts = {start for _kind, start in starts} | set(quarter_months)
        rows = await self.session.execute(
            select(
                Target.scope,
                Target.scope_id,
                Target.granularity,
                Target.period_start,
                func.sum(Target.amount),
            )
            .where(
                Target.metric == "revenue",
                Target.status == "approved",
                Target.granularity.in_(("month", "quarter")),
                Target.period_start.in_(all_starts),
            )
            .group_by(Target.scope, Target.scope_id, Target.granularity, Target.period_start)
        )
        plans: dict[tuple[str, UUID, str], Decimal] = {}
        month_sums: dict[tuple[str, UUID, str], list[Decimal]] = {}
        for scope, scope_id, granularity, start, total in rows:
            own_period = starts.get((granularity, start))
            if own_period is not None:
                plans[(scope, scope_id, own_period)] = Decimal(total)
            if granularity == "month" and start in quarter_months:
                month_sums.setdefault((scope, scope_id, quarter_months[start]), []).append(Decimal(total))
        for key, parts in month_sums.items():
            if key not in plans and len(parts) == 3:
                plans[key] = sum(parts, Decimal(0))
        return plans
