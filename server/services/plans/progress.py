"""Progress of approved targets for many scopes at once: the shared pace API.

`ProgressService.for_scopes("user", rep_ids, as_of)` answers every rep with a fixed handful of
queries (targets, scope homes, org tree, holidays, thresholds, one aggregate per distinct period),
never a query per scope. What counts as the actual (documented in docs/plans.md):

- revenue: SUM(orders.amount) with ordered_on in the period. user = orders the rep took
  (orders.rep_id); customer = that customer's orders; org_unit = orders taken by reps whose unit
  is in the subtree, plus orders without a rep whose customer's unit is in the subtree (so an
  import without rep attribution still counts for the company).
- visits: completed check-ins (checked_out_at set) checked in during the period in the scope's
  time zone; by the rep, at the customer, or by reps of the subtree.
- new_customers: customers whose first order ever falls in the period; user = owner rep,
  org_unit = customer's unit in the subtree.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from sqlalchemy import select

from server.core.gc_pause import paused_gc
from server.core.org import OrgTree
from server.core.services import Service
from server.db.id_lists import chunks
from server.db.models import Customer, User
from server.domain.breakdown import month_weights_from_json
from server.domain.pace import MonthWeights, PeriodCalendars, PeriodDays, Progress, Thresholds, progress_on
from server.domain.plans import GRANULARITIES, METRICS, SCOPES, check_choice
from server.services.plans.actuals import new_customers_query, revenue_query, utc_window, visits_query
from server.services.plans.calendar import load_holidays, load_thresholds
from server.services.plans.progress_targets import (
    ProgressQuery,
    ScopeHome,
    TargetRow,
    targets_of,
)
from server.services.plans.shared_actuals import SharedActuals

_ZERO = Decimal(0)
GC_PAUSE_FROM_SCOPES = 1000  # scope ids over all questions: a sweep or a company page


@dataclass(slots=True)
class ScopeProgress:
    """One scope's approved target and its progress as of a date (not frozen, like Progress:
    one per target of a sweep)."""

    scope: str
    scope_id: UUID
    target_id: UUID
    period_start: date
    period_end: date
    target: Decimal
    actual: Decimal
    progress: Progress


def stored_month_weights(document: str | None) -> MonthWeights | None:
    """Stored seasonal weights (JSON text) as sorted (month, weight) pairs; None for none."""
    raw = json.loads(document) if document is not None else None
    return tuple(sorted(month_weights_from_json(raw).items())) if raw else None


class _Loaded(NamedTuple):
    """One question's targets and actuals, waiting for the holidays and thresholds of all."""

    position: int  # in the list of questions (a field named `index` would shadow tuple.index)
    query: ProgressQuery
    targets: dict[UUID, TargetRow]
    homes: dict[UUID, ScopeHome]
    actuals: Mapping[UUID, Decimal]  # a scope without a figure may be absent: its actual is 0
    units: set[UUID]
    start: date
    end: date


def _windows(
    metric: str, targets: dict[UUID, TargetRow], homes: dict[UUID, ScopeHome], as_of: date
) -> dict[tuple[date, date, str], list[UUID]]:
    """The scopes by actuals window: one aggregate per distinct (period, time zone); a plan's
    targets share one period, so one window in practice. Only visits depend on the time zone."""
    windows: dict[tuple[date, date, str], list[UUID]] = defaultdict(list)
    if metric != "visits":  # one time zone: a sweep's targets share a period, so the last
        last: tuple[date, date] | None = None  # row's window is looked up again only on a change
        ids: list[UUID] = []
        for scope_id, row in targets.items():
            if last is None or row[2] != last[0] or row[3] != last[1]:
                last = (row[2], row[3])
                # Progress "as of" a day counts actuals up to that day, never later bookings.
                ids = windows[(row[2], min(row[3], as_of), "UTC")]
            ids.append(scope_id)
        return windows
    for scope_id, row in targets.items():
        tz = homes[scope_id].timezone if scope_id in homes else "UTC"
        windows[(row.period_start, min(row.period_end, as_of), tz)].append(scope_id)
    return windows


class ProgressService(Service):
    async def for_scopes(
        self,
        scope: str,
        scope_ids: list[UUID],
        as_of: date,
        metric: str = "revenue",
        granularity: str = "month",
        *,
        tree: OrgTree | None = None,
    ) -> dict[UUID, ScopeProgress]:
        """Progress of each scope's approved `granularity` target whose period contains as_of.

        Scopes without such a target are absent from the answer. Raises ValueError naming the
        argument for an unknown scope, metric or granularity. A caller that has just loaded the
        org tree may pass it (`tree`) to save loading it again.
        """
        query = ProgressQuery(scope, scope_ids, as_of, metric, granularity)
        return (await self.for_queries([query], tree=tree))[0]

    async def for_queries(
        self, queries: Sequence[ProgressQuery], *, tree: OrgTree | None = None
    ) -> list[dict[UUID, ScopeProgress]]:
        """for_scopes for each query, in order; the org tree, holidays and pace thresholds are
        loaded once for all of them (the escalate sweep asks four questions at a time)."""
        # Tens of thousands of rows and figures (server/core/gc_pause.py). Only for many scopes:
        # the pause is process-wide, and a page asking for a team's reps is no reason to keep
        # other requests' cycles waiting while it awaits the database.
        many = sum(len(q.scope_ids) for q in queries) >= GC_PAUSE_FROM_SCOPES
        with paused_gc() if many else nullcontext():
            return await self._for_queries(queries, tree)

    async def _for_queries(
        self, queries: Sequence[ProgressQuery], tree: OrgTree | None
    ) -> list[dict[UUID, ScopeProgress]]:
        for query in queries:
            check_choice("scope", query.scope, SCOPES)
            check_choice("metric", query.metric, METRICS)
            check_choice("granularity", query.granularity, GRANULARITIES)
        tree = tree or await OrgTree.load(self.session)
        answers: list[dict[UUID, ScopeProgress]] = [{} for _ in queries]
        loaded: list[_Loaded] = []
        # Reps' and units' revenue and visits: every question's rollup days read together.
        shared = SharedActuals(tree)
        waiting: list[tuple[int, dict[tuple[date, date, str], list[UUID]]]] = []  # (in loaded, windows)
        found = await targets_of(self.session, queries, tree)
        for index, q in enumerate(queries):
            targets, homes = found[index]
            if not targets:
                continue
            windows = _windows(q.metric, targets, homes, q.as_of)
            direct: dict[UUID, Decimal] = {}  # the metrics SharedActuals does not handle
            if shared.handles(q.scope, q.metric):
                for (start, end, tz), ids in windows.items():
                    shared.need(q.scope, q.metric, ids, start, end, tz)
            else:
                for (start, end, tz), ids in windows.items():
                    direct.update(await self.actuals(q.scope, ids, start, end, q.metric, tz, tree))
            item = _Loaded(
                index,
                q,
                targets,
                homes,
                direct,
                {home.unit_id for home in homes.values() if home.unit_id is not None},
                min(t.period_start for t in targets.values()),
                max(t.period_end for t in targets.values()),
            )
            if shared.handles(q.scope, q.metric):
                waiting.append((len(loaded), windows))
            loaded.append(item)
        await shared.read(self.session)
        for at, windows in waiting:
            item = loaded[at]
            scope, metric = item.query.scope, item.query.metric
            if len(windows) == 1:  # a sweep's one period: its figures read in place, not copied
                (((start, end, tz), ids),) = windows.items()
                loaded[at] = item._replace(actuals=shared.actuals(scope, metric, ids, start, end, tz))
                continue
            merged: dict[UUID, Decimal] = {}
            for (start, end, tz), ids in windows.items():
                part = shared.actuals(scope, metric, ids, start, end, tz)
                merged.update({i: part.get(i, _ZERO) for i in ids})
            loaded[at] = item._replace(actuals=merged)
        if not loaded:
            return answers
        all_units: set[UUID] = set().union(*(item.units for item in loaded))
        all_start, all_end = min(item.start for item in loaded), max(item.end for item in loaded)
        holidays = await load_holidays(self.session, tree, all_units, all_start, all_end)
        companies = {unit: tree.company_of(unit) for unit in all_units}  # one walk up per unit
        thresholds = await load_thresholds(self.session, set(companies.values()))
        unit_thresholds = {
            unit: thresholds.get(company, Thresholds()) if company is not None else Thresholds()
            for unit, company in companies.items()
        }
        for index, q, targets, homes, actuals, units, start, end in loaded:
            own = holidays
            if (start, end) != (all_start, all_end):  # exactly the days it would load on its own
                own = {
                    unit: frozenset(d for d in holidays.get(unit, ()) if start <= d <= end) for unit in units
                }
            answers[index] = self._progress(q, targets, homes, actuals, own, unit_thresholds)
        return answers

    @staticmethod
    def _progress(
        query: ProgressQuery,
        targets: dict[UUID, TargetRow],
        homes: dict[UUID, ScopeHome],
        actuals: Mapping[UUID, Decimal],
        holidays: dict[UUID, frozenset[date]],
        thresholds: dict[UUID, Thresholds],
    ) -> dict[UUID, ScopeProgress]:
        result: dict[UUID, ScopeProgress] = {}
        # The calendar part once per distinct (period, holidays, weights), each distinct weights
        # document decoded once (a plan's targets share theirs): per target only the arithmetic.
        calendars = PeriodCalendars(query.as_of)
        weights = {
            document: stored_month_weights(document) for document in {r.weights for r in targets.values()}
        }
        no_holidays: frozenset[date] = frozenset()
        default = Thresholds()
        zero = Decimal(0)
        # Per (unit, period, weights): the calendar and the unit's thresholds, looked up once.
        known: dict[tuple[UUID | None, date, date, str | None], tuple[PeriodDays, Thresholds]] = {}
        scope, actual_of = query.scope, actuals.get
        for scope_id, row in targets.items():
            _id, _scope_id, start, end, amount, document = row
            unit = homes[scope_id].unit_id
            key = (unit, start, end, document)
            found = known.get(key)
            if found is None:
                days = calendars.days(
                    start, end, holidays.get(unit, no_holidays) if unit else no_holidays, weights[document]
                )
                found = known[key] = (days, thresholds[unit] if unit else default)
            actual = actual_of(scope_id, zero)
            result[scope_id] = ScopeProgress(
                scope, scope_id, row.id, start, end, amount, actual, progress_on(amount, actual, *found)
            )
        return result

    async def for_one(
        self,
        scope: str,
        scope_id: UUID,
        as_of: date,
        metric: str = "revenue",
        granularity: str = "month",
    ) -> ScopeProgress | None:
        """for_scopes for a single scope; None when it has no approved target for as_of."""
        return (await self.for_scopes(scope, [scope_id], as_of, metric, granularity)).get(scope_id)

    async def homes(self, scope: str, ids: list[UUID], tree: OrgTree) -> dict[UUID, ScopeHome]:
        """Each scope's org unit and time zone."""
        if scope == "org_unit":
            return {i: ScopeHome(i, tree.timezone(i)) for i in ids if i in tree.units}
        homes: dict[UUID, ScopeHome] = {}
        for part in chunks(ids):
            if scope == "user":
                query = select(User.id, User.org_unit_id, User.timezone).where(User.id.in_(part))
                homes.update(
                    {r.id: ScopeHome(r.org_unit_id, r.timezone) for r in await self.session.execute(query)}
                )
            else:
                owned = select(Customer.id, Customer.org_unit_id).where(Customer.id.in_(part))
                homes.update(
                    {
                        r.id: ScopeHome(r.org_unit_id, tree.timezone(r.org_unit_id))
                        for r in await self.session.execute(owned)
                    }
                )
        return homes

    async def actuals(
        self,
        scope: str,
        scope_ids: list[UUID],
        start: date,
        end: date,
        metric: str = "revenue",
        timezone: str = "UTC",
        tree: OrgTree | None = None,
    ) -> dict[UUID, Decimal]:
        """The metric's actual per scope over [start, end] (inclusive local dates), set-based."""
        check_choice("scope", scope, SCOPES)
        check_choice("metric", metric, METRICS)
        ids = list(dict.fromkeys(scope_ids))
        if not ids:
            return {}
        if scope != "org_unit":
            per_key: dict[UUID, Decimal] = {}
            for part in chunks(ids):
                per_key.update(await self._aggregate(scope, metric, part, start, end, timezone))
            return {i: per_key.get(i, Decimal(0)) for i in ids}
        # Units: aggregate per unit once, then roll up each requested unit's subtree in Python.
        tree = tree or await OrgTree.load(self.session)
        subtrees = {i: tree.subtree(i) for i in ids}
        all_units = sorted({u for units in subtrees.values() for u in units})
        per_unit: dict[UUID, Decimal] = {}
        for part in chunks(all_units):
            per_unit.update(await self._aggregate(scope, metric, part, start, end, timezone))
        return {i: sum((per_unit.get(u, Decimal(0)) for u in subtrees[i]), Decimal(0)) for i in ids}

    async def _aggregate(
        self, scope: str, metric: str, keys: Sequence[UUID], start: date, end: date, timezone: str
    ) -> dict[UUID, Decimal]:
        if metric == "revenue":
            query = revenue_query(scope, keys, start, end)
        elif metric == "visits":
            query = visits_query(scope, keys, *utc_window(start, end, timezone))
        else:
            query = new_customers_query(scope, keys, start, end)
        rows = await self.session.execute(query)
        return {key: Decimal(value) if value is not None else Decimal(0) for key, value in rows}


__all__ = [
    "ProgressService",
    "ScopeProgress",
    "chunks",  # re-exported: the plans and import services batch their id lists with it
    "stored_month_weights",
]
