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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import BindParameter, Text, bindparam, cast, literal, select

from server.core.gc_pause import paused_gc
from server.core.org import OrgTree
from server.core.services import Service
from server.core.upsert import dialect_of
from server.db.id_lists import chunks, fetched_uuid, id_batches, in_ids
from server.db.models import Customer, Target, User
from server.domain.breakdown import month_weights_from_json
from server.domain.pace import MonthWeights, PeriodCalendars, Progress, Thresholds, progress_on
from server.domain.plans import GRANULARITIES, METRICS, SCOPES, check_choice
from server.services.plans.actuals import new_customers_query, revenue_query, utc_window, visits_query
from server.services.plans.calendar import load_holidays, load_thresholds
from server.services.plans.shared_actuals import SharedActuals

# The longest period of each granularity in days (check_period: a target is at most one
# granularity long), so a target containing as_of starts at most this many days - 1 before it:
# the bound keeps the targets index scan to a rep's current periods, not its whole history.
LONGEST_PERIOD_DAYS = {"week": 7, "month": 31, "quarter": 92, "year": 366}


@dataclass(frozen=True)
class ScopeProgress:
    """One scope's approved target and its progress as of a date."""

    scope: str
    scope_id: UUID
    target_id: UUID
    period_start: date
    period_end: date
    target: Decimal
    actual: Decimal
    progress: Progress


class _TargetRow(NamedTuple):
    id: UUID
    scope_id: UUID
    period_start: date
    period_end: date
    amount: Decimal
    weights: str | None  # the stored JSON text: decoded once per distinct document, not per row


@dataclass(frozen=True)
class ScopeHome:
    """Where a scope lives: its org unit (holidays, thresholds) and time zone (visit days)."""

    unit_id: UUID | None
    timezone: str


def stored_month_weights(document: str | None) -> MonthWeights | None:
    """Stored seasonal weights (JSON text) as sorted (month, weight) pairs; None for none."""
    raw = json.loads(document) if document is not None else None
    return tuple(sorted(month_weights_from_json(raw).items())) if raw else None


@dataclass(frozen=True)
class ProgressQuery:
    """One for_scopes question; ProgressService.for_queries answers several sharing one load."""

    scope: str
    scope_ids: Sequence[UUID]
    as_of: date
    metric: str = "revenue"
    granularity: str = "month"


class _Loaded(NamedTuple):
    """One question's targets and actuals, waiting for the holidays and thresholds of all."""

    position: int  # in the list of questions (a field named `index` would shadow tuple.index)
    query: ProgressQuery
    targets: dict[UUID, _TargetRow]
    homes: dict[UUID, ScopeHome]
    actuals: dict[UUID, Decimal]
    units: set[UUID]
    start: date
    end: date


def _targets_statement(scope: str, postgresql: bool, by_ids: bool) -> Any:
    """Approved targets of `scope` containing :as_of, with each scope's home unit and time zone,
    for the metrics :metrics and granularities :granularities (several questions, one read).

    The scope ids are :ids, bound as one array on PostgreSQL (server/db/id_lists.py); without
    `by_ids`, every scope's (the caller keeps those it asked for).
    """
    home_unit: Any = {"user": User.org_unit_id, "customer": Customer.org_unit_id}.get(scope, Target.scope_id)
    home_unit = fetched_uuid(home_unit, postgresql)
    columns = (
        fetched_uuid(Target.id, postgresql),
        fetched_uuid(Target.scope_id, postgresql),
        Target.period_start,
        Target.period_end,
        Target.amount,
        cast(Target.weights, Text).label("weights"),
        Target.metric,
        Target.granularity,
    )
    if scope == "user":
        query = select(*columns, home_unit.label("home_unit"), User.timezone.label("home_tz"))
        query = query.outerjoin(User, User.id == Target.scope_id)
    else:
        query = select(*columns, home_unit.label("home_unit"), literal(None).label("home_tz"))
        if scope == "customer":
            query = query.outerjoin(Customer, Customer.id == Target.scope_id)
    # Containing a day between :first_as_of and :last_as_of (the caller keeps each question's).
    last_as_of: BindParameter[date] = bindparam("last_as_of")
    if by_ids:
        query = query.where(in_ids(Target.scope_id, "ids", postgresql))
    return query.where(
        Target.scope == scope,
        Target.metric.in_(bindparam("metrics", expanding=True)),
        Target.granularity.in_(bindparam("granularities", expanding=True)),
        Target.status == "approved",
        Target.period_start <= last_as_of,
        Target.period_start >= bindparam("earliest_start"),
        Target.period_end >= bindparam("first_as_of"),
    ).order_by(Target.version, Target.approved_at)  # approval supersedes: should two overlap, the newest wins


# Built once: a call only binds values (building the statement and its cache key per call, with
# every id coerced one by one, cost more than running it).
_TARGETS = {
    (scope, pg, by_ids): _targets_statement(scope, pg, by_ids)
    for scope in SCOPES
    for pg in (False, True)
    for by_ids in (False, True)
}
# Many reps or units asked (a sweep, a company page): reading all of the scope's targets of the
# period and keeping the asked ones beats probing the index once per id (at 10,000 reps 53 ms
# against 157 ms). Not for customers: there may be a million of those.
WHOLE_SCOPES = ("user", "org_unit")
WHOLE_TARGETS_AT = 500


def _windows(
    metric: str, targets: dict[UUID, _TargetRow], homes: dict[UUID, ScopeHome], as_of: date
) -> dict[tuple[date, date, str], list[UUID]]:
    """The scopes by actuals window: one aggregate per distinct (period, time zone); a plan's
    targets share one period, so one window in practice. Only visits depend on the time zone."""
    windows: dict[tuple[date, date, str], list[UUID]] = defaultdict(list)
    for scope_id, row in targets.items():
        tz = homes[scope_id].timezone if metric == "visits" and scope_id in homes else "UTC"
        # Progress "as of" a day counts actuals up to that day, never later bookings.
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
        with paused_gc():  # tens of thousands of rows and figures: server/core/gc_pause.py
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
        waiting: list[tuple[_Loaded, dict[tuple[date, date, str], list[UUID]]]] = []
        found = await self._targets_of(queries, tree)
        for index, q in enumerate(queries):
            targets, homes = found[index]
            if not targets:
                continue
            windows = _windows(q.metric, targets, homes, q.as_of)
            actuals: dict[UUID, Decimal] = {}
            if shared.handles(q.scope, q.metric):
                for (start, end, tz), ids in windows.items():
                    shared.need(q.scope, q.metric, ids, start, end, tz)
            else:
                for (start, end, tz), ids in windows.items():
                    actuals.update(await self.actuals(q.scope, ids, start, end, q.metric, tz, tree))
            item = _Loaded(
                index,
                q,
                targets,
                homes,
                actuals,
                {home.unit_id for home in homes.values() if home.unit_id is not None},
                min(t.period_start for t in targets.values()),
                max(t.period_end for t in targets.values()),
            )
            loaded.append(item)
            if shared.handles(q.scope, q.metric):
                waiting.append((item, windows))
        await shared.read(self.session)
        for item, windows in waiting:
            scope, metric = item.query.scope, item.query.metric
            for (start, end, tz), ids in windows.items():
                for scope_id in ids:
                    item.actuals[scope_id] = shared.actual(scope, metric, scope_id, start, end, tz)
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
        targets: dict[UUID, _TargetRow],
        homes: dict[UUID, ScopeHome],
        actuals: dict[UUID, Decimal],
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
        for scope_id, row in targets.items():
            unit = homes[scope_id].unit_id
            actual = actuals.get(scope_id, zero)
            days = calendars.days(
                row.period_start,
                row.period_end,
                holidays.get(unit, no_holidays) if unit else no_holidays,
                weights[row.weights],
            )
            progress = progress_on(row.amount, actual, days, thresholds[unit] if unit else default)
            result[scope_id] = ScopeProgress(
                query.scope, scope_id, row.id, row.period_start, row.period_end, row.amount, actual, progress
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

    async def _targets_of(
        self, queries: Sequence[ProgressQuery], tree: OrgTree
    ) -> list[tuple[dict[UUID, _TargetRow], dict[UUID, ScopeHome]]]:
        """Each question's approved targets and homes. Questions about the same scopes and day
        (the sweep's metrics and granularities) share one read by id; when many reps or units
        are asked, every question of that scope shares one read of all its targets."""
        # (Counted with repeats: hashing 10,000 UUIDs per question to count them costs more.)
        per_scope: dict[str, int] = defaultdict(int)
        for q in queries:
            per_scope[q.scope] += len(q.scope_ids)
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for index, q in enumerate(queries):
            if q.scope in WHOLE_SCOPES and per_scope[q.scope] >= WHOLE_TARGETS_AT:
                groups[(q.scope,)].append(index)
            else:
                groups[q.scope, q.as_of, tuple(dict.fromkeys(q.scope_ids))].append(index)
        answers: list[tuple[dict[UUID, _TargetRow], dict[UUID, ScopeHome]]] = [({}, {}) for _ in queries]
        shared_homes: dict[tuple[UUID | None, str], ScopeHome] = {}  # reps share units and zones
        for key, indexes in groups.items():
            by_id = None if len(key) == 1 else list(key[2])
            await self._approved_targets(
                key[0],
                by_id,
                [(i, queries[i], queries[i].scope_ids) for i in indexes],
                answers,
                shared_homes,
                tree,
            )
        return answers

    async def _approved_targets(
        self,
        scope: str,
        ids: list[UUID] | None,
        questions: list[tuple[int, ProgressQuery, Sequence[UUID]]],
        answers: list[tuple[dict[UUID, _TargetRow], dict[UUID, ScopeHome]]],
        shared_homes: dict[tuple[UUID | None, str], ScopeHome],
        tree: OrgTree,
    ) -> None:
        """Into answers[i], for each question i: the approved targets containing its as_of, and
        each scope's home (joined, not re-queried). `ids` None: every target of the scope read."""
        reach = {
            q.granularity: timedelta(days=LONGEST_PERIOD_DAYS[q.granularity] - 1) for _i, q, _ids in questions
        }
        params: dict[str, Any] = {
            "metrics": sorted({q.metric for _i, q, _ids in questions}),
            "granularities": sorted(reach),
            "first_as_of": min(q.as_of for _i, q, _ids in questions),
            "last_as_of": max(q.as_of for _i, q, _ids in questions),
            "earliest_start": min(q.as_of - reach[q.granularity] for _i, q, _ids in questions),
        }
        # Who asks for each (scope, metric, granularity): the question, its day, and how far back
        # a target containing that day may start.
        asking: dict[tuple[UUID, str, str], list[tuple[int, date, date]]] = defaultdict(list)
        for i, q, q_ids in questions:
            asker = (i, q.as_of, q.as_of - reach[q.granularity])
            for scope_id in q_ids:
                asking[scope_id, q.metric, q.granularity].append(asker)
        postgresql = dialect_of(self.session) == "postgresql"
        statement = _TARGETS[scope, postgresql, ids is not None]
        batches = (
            [params] if ids is None else [{**params, "ids": part} for part in id_batches(ids, postgresql)]
        )
        # On the session's connection: plain rows, without the ORM's per-row result handling.
        connection = await self.session.connection()
        for values in batches:
            # .all(): one fetch, not the async adapter's fetchone per row.
            for row in (await connection.execute(statement, values)).all():
                scope_id, start, end = row[1], row[2], row[3]
                home, target = None, None
                for i, as_of, earliest in asking.get((scope_id, row[6], row[7]), ()):
                    if not start <= as_of <= end or start < earliest:
                        continue  # another question's day, or longer ago than its granularity reaches
                    if home is None or target is None:
                        unit, timezone = row[8], row[9] or tree.timezone(row[8])
                        home = shared_homes.get((unit, timezone))
                        if home is None:
                            home = shared_homes[unit, timezone] = ScopeHome(unit, timezone)
                        target = _TargetRow(*row[:6])
                    targets, homes = answers[i]
                    targets[scope_id] = target
                    homes[scope_id] = home

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
    "LONGEST_PERIOD_DAYS",
    "ProgressQuery",
    "ProgressService",
    "ScopeHome",
    "ScopeProgress",
    "chunks",  # re-exported: the plans and import services batch their id lists with it
    "stored_month_weights",
]
