"""Forecast runs: the weekly refit (model choice by backtest per level, fit, OLS reconciliation
along the org tree) and the nightly in-period update (same model bands, new actuals to date).

Within a month the forecast is actual to date + the expected rest: the larger of the model's month
forecast scaled by the share of working days left and the probability-weighted open pipeline
expected to close in the rest of the month; quarters add the months' bands (half-widths in
quadrature). A unit's point is
the sum of its reps' points to the cent, so children always sum to their parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast
from uuid import UUID, uuid4

from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.domains import check_rows
from server.core.org import OrgTree
from server.core.services import Service
from server.core.upsert import insert_or_skip
from server.db.base import Base
from server.db.models import Forecast, ForecastAccuracy, ForecastRun
from server.domain.calendar import month_end, working_days
from server.domain.forecast import (
    Band,
    add_months,
    combine_bands,
    compose_in_period,
    lifted,
    month_key,
    period_bounds,
    quarter_key,
    rest_band,
    with_pipeline,
)
from server.services.forecasts.engine import Backtest, HorizonScore
from server.services.forecasts.history import History, load_history
from server.services.forecasts.pipeline import load_pipeline
from server.services.plans.calendar import load_holidays

HORIZON = 6  # months fitted: covers the current and next quarter from any month
BACKTEST_HORIZON = 3
WINDOWS = 12
# A level's method is chosen on at most this many of its series (engine.sample: evenly spread by
# revenue); every series still gets the chosen method's full backtest as its track record.
SELECTION_SAMPLE = 100


@dataclass(frozen=True)
class Node:
    key: str  # "u:<uuid>" for a rep, "o:<uuid>" for a unit
    level: str
    scope: str
    scope_id: UUID


def _nodes(tree: OrgTree, history: History) -> list[Node]:
    nodes = [Node(f"u:{rep}", "rep", "user", rep) for rep in sorted(history.reps, key=str)]
    for unit in sorted(history.leaves_of, key=str):
        nodes.append(Node(f"o:{unit}", tree.units[unit].kind, "org_unit", unit))
    return nodes


class ForecastService(Service):
    async def refit(self, company_id: UUID, as_of: date) -> ForecastRun | None:
        """Backtest, choose, fit, reconcile, compose and store; None if this day's refit exists."""
        from server.services.forecasts import engine

        if await self._run(company_id, "refit", as_of) is not None:
            return None
        tree = await OrgTree.load(self.session)
        history = await load_history(self.session, tree, company_id, as_of)
        if not history.months or not history.reps:
            return None  # no complete month of orders yet (or no reps): nothing to model
        nodes = _nodes(tree, history)
        series = {node.key: self._series(history, node) for node in nodes}
        methods: dict[str, str] = {}
        bands: dict[str, list[Band]] = {}
        run = await self._claim(company_id, "refit", as_of, engine.engine_version(), {}, None)
        if run is None:
            return None
        accuracy: list[dict[str, Any]] = []
        for level in sorted({n.level for n in nodes}):
            level_series = {n.key: series[n.key] for n in nodes if n.level == level}
            result = _choose_and_score(level_series)
            methods[level] = result.chosen
            bands.update(engine.predict(level_series, result.chosen, horizon=HORIZON))
            scored: list[tuple[UUID | None, HorizonScore]] = [
                (None, s) for s in result.scores.get(result.chosen, [])
            ]
            scope_of = {n.key: n.scope_id for n in nodes}
            scored += [
                (scope_of[key], score) for key, scores in result.per_series.items() for score in scores
            ]
            accuracy += [
                {
                    "run_id": run.id,
                    "level": level,
                    "scope_id": scope_id,
                    "horizon": score.horizon,
                    "method": result.chosen,
                    "wape": score.wape,
                    "bias": score.bias,
                    "mase": score.mase,
                    "within": score.within,
                    "n": score.n,
                }
                for scope_id, score in scored
            ]
        await _insert(self.session, ForecastAccuracy, accuracy)
        bands, how = self._reconcile(history, nodes, bands)
        run.methods = {**methods, "reconciliation": how}
        first = month_key(as_of)
        month_bands = {n.key: {add_months(first, h): bands[n.key][h] for h in range(HORIZON)} for n in nodes}
        await self._store(run, tree, history, nodes, month_bands, methods)
        return run

    async def update(self, company_id: UUID, as_of: date) -> ForecastRun | None:
        """Recompose the latest refit's bands with today's actuals; None if done or no refit."""
        if await self._run(company_id, "update", as_of) is not None:
            return None
        refit = await self.session.scalar(
            select(ForecastRun)
            .where(
                ForecastRun.company_id == company_id, ForecastRun.kind == "refit", ForecastRun.as_of <= as_of
            )
            .order_by(ForecastRun.as_of.desc())
            .limit(1)
        )
        if refit is None:
            return None
        tree = await OrgTree.load(self.session)
        history = await load_history(self.session, tree, company_id, as_of)
        nodes = _nodes(tree, history)
        stored = await self.session.execute(
            select(Forecast).where(Forecast.run_id == refit.id, Forecast.period.not_like("%Q%"))
        )
        month_bands: dict[str, dict[str, Band]] = {}
        for row in stored.scalars():
            prefix = "u" if row.scope == "user" else "o"
            month_bands.setdefault(f"{prefix}:{row.scope_id}", {})[row.period] = Band(
                row.model_point, row.model_low, row.model_high
            )
        nodes = [n for n in nodes if n.key in month_bands]
        run = await self._claim(company_id, "update", as_of, refit.engine, dict(refit.methods), refit.id)
        if run is None:
            return None
        await self._store(run, tree, history, nodes, month_bands, dict(refit.methods))
        return run

    async def has_run(self, company_id: UUID, as_of: date) -> bool:
        """A refit or an update exists for this company-local day."""
        found = await self.session.scalar(
            select(ForecastRun.id)
            .where(ForecastRun.company_id == company_id, ForecastRun.as_of == as_of)
            .limit(1)
        )
        return found is not None

    async def has_refit(self, company_id: UUID) -> bool:
        found = await self.session.scalar(
            select(ForecastRun.id)
            .where(ForecastRun.company_id == company_id, ForecastRun.kind == "refit")
            .limit(1)
        )
        return found is not None

    async def _claim(
        self,
        company_id: UUID,
        kind: str,
        as_of: date,
        engine: str,
        methods: dict[str, str],
        refit_id: UUID | None,
    ) -> ForecastRun | None:
        """INSERT ... ON CONFLICT DO NOTHING on (company, kind, as_of): a second process doing the
        same day at the same time waits for the first and then skips instead of failing."""
        run_id = uuid4()
        values = {
            "id": run_id,
            "company_id": company_id,
            "kind": kind,
            "as_of": as_of,
            "engine": engine,
            "methods": methods,
            "refit_id": refit_id,
            "created_at": self.clock.now(),
        }
        stmt = insert_or_skip(self.session, ForecastRun, ["company_id", "kind", "as_of"]).values(**values)
        result = cast(CursorResult[Any], await self.session.execute(stmt))
        if not result.rowcount:
            return None
        return await self.session.get(ForecastRun, run_id)

    async def _run(self, company_id: UUID, kind: str, as_of: date) -> ForecastRun | None:
        return await self.session.scalar(
            select(ForecastRun).where(
                ForecastRun.company_id == company_id, ForecastRun.kind == kind, ForecastRun.as_of == as_of
            )
        )

    @staticmethod
    def _series(history: History, node: Node) -> list[float]:
        if node.scope == "user":
            return history.series(node.scope_id)
        rows = [history.series(rep) for rep in history.leaves_of[node.scope_id]]
        return [sum(values) for values in zip(*rows, strict=True)] if rows else []

    @staticmethod
    def _reconcile(
        history: History, nodes: Sequence[Node], bands: dict[str, list[Band]]
    ) -> tuple[dict[str, list[Band]], str]:
        """MinTrace (OLS) over all horizons; each band moves with its point (its width stays)."""
        from server.services.forecasts import engine

        leaves = [n.key for n in nodes if n.scope == "user"]
        parents = {f"o:{unit}": [f"u:{rep}" for rep in reps] for unit, reps in history.leaves_of.items()}
        base = {n.key: [b.point for b in bands[n.key]] for n in nodes}
        coherent, how = engine.reconcile(leaves, parents, base)
        out: dict[str, list[Band]] = {}
        for n in nodes:
            out[n.key] = [
                Band(c, b.low + c - b.point, b.high + c - b.point)
                for c, b in zip(coherent[n.key], bands[n.key], strict=True)
            ]
        return out, how

    async def _store(
        self,
        run: ForecastRun,
        tree: OrgTree,
        history: History,
        nodes: Sequence[Node],
        month_bands: dict[str, dict[str, Band]],
        methods: dict[str, str],
    ) -> None:
        as_of = run.as_of
        current = month_key(as_of)
        holidays = (await load_holidays(self.session, tree, [run.company_id], as_of, month_end(as_of))).get(
            run.company_id, frozenset()
        )
        months = sorted({m for bands in month_bands.values() for m in bands if m >= current})
        this_q = quarter_key(as_of)
        _, q_end, _ = period_bounds(this_q)
        next_q = quarter_key(date(q_end.year + q_end.month // 12, q_end.month % 12 + 1, 1))
        periods = [*months, this_q, next_q]  # months beyond the next: kept for the nightly update
        wd_total = working_days(date.fromisoformat(current + "-01"), month_end(as_of), holidays)
        wd_left = working_days(as_of, month_end(as_of), holidays)
        last = date.fromisoformat(max(months, default=current) + "-01")
        pipeline = await load_pipeline(self.session, run.company_id, history.reps, as_of, month_end(last))
        lifts: dict[tuple[UUID, str], float] = {}  # (rep, month) -> how far the pipeline raised it
        leaf_points: dict[tuple[UUID, str], Decimal] = {}
        rows: list[dict[str, Any]] = []
        for node in sorted(nodes, key=lambda n: n.scope != "user"):
            reps = [node.scope_id] if node.scope == "user" else history.leaves_of[node.scope_id]
            for period in periods:
                period_months = _months_of(period)
                actual = sum(
                    (history.to_date(r, m) for r in reps for m in period_months if m <= current), Decimal(0)
                )
                ahead = [m for m in period_months if m >= current]
                if any(m not in month_bands[node.key] for m in ahead):
                    continue  # beyond what the refit covered
                bands = [month_bands[node.key][m] for m in ahead]
                rest = []
                for m in ahead:
                    month_band = month_bands[node.key][m]
                    band = _scaled(month_band, wd_left, wd_total) if m == current else month_band
                    if node.scope == "user":
                        raised = with_pipeline(band, float(pipeline.get((node.scope_id, m), 0)))
                        lifts[(node.scope_id, m)] = raised.point - band.point
                        rest.append(raised)
                    else:
                        rest.append(lifted(band, sum(lifts.get((r, m), 0.0) for r in reps)))
                weighted = sum((pipeline.get((r, m), Decimal(0)) for r in reps for m in ahead), Decimal(0))
                total = combine_bands(rest) if rest else Band(0.0, 0.0, 0.0)
                point, low, high = compose_in_period(actual, total, 1, 1)
                if node.scope == "user":
                    leaf_points[(node.scope_id, period)] = point
                else:
                    point = sum((leaf_points[(r, period)] for r in reps), Decimal(0))
                    low, high = min(low, point), max(high, point)
                model = combine_bands(bands)
                rows.append(
                    {
                        "run_id": run.id,
                        "company_id": run.company_id,
                        "level": node.level,
                        "scope": node.scope,
                        "scope_id": node.scope_id,
                        "period": period,
                        "method": methods.get(node.level, "SeasonalNaive"),
                        "as_of": as_of,
                        "point": point,
                        "low": low,
                        "high": high,
                        "actual_to_date": actual,
                        "model_point": model.point,
                        "model_low": model.low,
                        "model_high": model.high,
                        "pipeline": weighted,
                    }
                )
        await _insert(self.session, Forecast, rows)
        await self.session.flush()  # the run row's methods


async def _insert(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Core INSERT of computed rows, one executemany (ORM objects cost more than the forecast at
    thousands of rows), checked against their columns as every ORM flush is (core/domains.py)."""
    check_rows(inspect(model), rows)
    if rows:
        await session.execute(insert(model.__table__), rows)


def _choose_and_score(level_series: dict[str, list[float]]) -> Backtest:
    """The level's method: every candidate backtested on a bounded, deterministic sample of the
    level's series (all of them when there are few); then the chosen method alone backtested on
    every series, which is each series' track record and the level's accuracy. Points only: no
    interval is stored from a backtest."""
    from server.services.forecasts import engine

    picked = engine.sample(level_series, SELECTION_SAMPLE)
    choice = engine.backtest(
        {k: level_series[k] for k in picked}, horizon=BACKTEST_HORIZON, windows=WINDOWS, intervals=False
    )
    if len(picked) == len(level_series) or not choice.scores:
        return choice
    return engine.backtest(
        level_series, horizon=BACKTEST_HORIZON, windows=WINDOWS, methods=(choice.chosen,), intervals=False
    )


def _months_of(period: str) -> list[str]:
    start, end, _ = period_bounds(period)
    keys, cursor = [], month_key(start)
    while cursor <= month_key(end):
        keys.append(cursor)
        cursor = add_months(cursor, 1)
    return keys


def _scaled(band: Band, left: int, total: int) -> Band:
    return rest_band(band, left / total if total else 0.0)
