"""Reps' and units' revenue and visits for many progress questions, each rollup day read once.

ProgressService.for_queries answers several questions at once (the escalate sweep: reps and
units x revenue and visits x month and quarter x each pace date). Asked one by one, every
question scanned its own days of rep_day_actuals again, per metric and per chunk of ids. Here
the questions first say what they need (`need`), then `read` runs at most four statements:

- the rollup over the union of all the day ranges, one SUM(CASE) column per distinct
  (metric, day range), per rep, with the rep's current unit;
- the completed check-ins of the partial UTC days at time-zone edges, of the reps that need
  them, each overlapping stretch once;
- the orders without a rep in the revenue ranges, by their customer's unit (units only);

and `actual` sums the answers in Python with exactly the rules of actuals.py: a rep's figure is
its own rows'; a unit's is the rows of the reps whose unit is in its subtree plus the orders
without a rep of customers there.

Many reps asked (a sweep, a company page): every rep of the days is read and the rest dropped in
Python, one range scan instead of id lists; a few (a team page): only theirs, by index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID

from sqlalchemy import case, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.org import OrgTree
from server.core.upsert import dialect_of
from server.db.id_lists import among, fetched_uuid, id_batches
from server.db.models import Checkin, Customer, Order, User, rep_day_actuals
from server.services.plans.actuals import utc_window, whole_utc_days

_rolled = rep_day_actuals.c

# Past these, reading every rep of the days and keeping some in Python beats an id filter.
WHOLE_AT_REPS = 500
WHOLE_AT_UNITS = 50

SHARED_SCOPES = ("user", "org_unit")
SHARED_METRICS = ("revenue", "visits")

_Range = tuple[date, date]  # inclusive days of the rollup
_Edge = tuple[datetime, datetime]  # [low, high) UTC instants read raw
_ZERO = Decimal(0)


class _Need:
    """What one (metric, window, time zone) reads: rollup days and raw edges."""

    __slots__ = ("days", "edges", "metric")

    def __init__(self, metric: str, start: date, end: date, timezone: str) -> None:
        self.metric = metric
        self.edges: list[_Edge] = []
        if metric == "revenue":
            self.days: _Range | None = (start, end)
            return
        first, stop, self.edges = whole_utc_days(*utc_window(start, end, timezone))
        self.days = (first, stop - timedelta(days=1)) if first < stop else None


class SharedActuals:
    """Collect the needs of many questions, read them together, answer each from the result."""

    def __init__(self, tree: OrgTree) -> None:
        self.tree = tree
        self._needs: dict[tuple[str, date, date, str], _Need] = {}
        self._reps: set[UUID] = set()
        self._units: set[UUID] = set()
        self._unit_revenue = False
        # After read(): per rep its unit and per (metric, days) column its figure; per edge the
        # reps' check-ins; per revenue range the orders without a rep by customer unit.
        self._rep_unit: dict[UUID, UUID | None] = {}
        self._rolled: dict[tuple[str, _Range], dict[UUID, Decimal]] = {}
        self._edges: dict[_Edge, dict[UUID, int]] = {}
        # Who needs each edge: reps asked directly, and units (their subtrees) asked.
        self._edge_reps: dict[_Edge, set[UUID]] = defaultdict(set)
        self._edge_units: dict[_Edge, set[UUID]] = defaultdict(set)
        self._no_rep: dict[_Range, dict[UUID, Decimal]] = {}
        self._per_unit: dict[tuple[str, date, date, str], dict[UUID, Decimal]] = {}
        self._subtrees: dict[UUID, list[UUID]] = {}

    @staticmethod
    def handles(scope: str, metric: str) -> bool:
        return scope in SHARED_SCOPES and metric in SHARED_METRICS

    def need(
        self, scope: str, metric: str, ids: Iterable[UUID], start: date, end: date, timezone: str
    ) -> None:
        """Register a question: `metric` over the local days [start, end] in `timezone`."""
        if metric == "revenue":
            timezone = "UTC"  # orders carry a date: the time zone plays no part
        key = (metric, start, end, timezone)
        if key not in self._needs:
            self._needs[key] = _Need(metric, start, end, timezone)
        edges = self._needs[key].edges
        if scope == "user":
            self._reps.update(ids)
            for edge in edges:
                self._edge_reps[edge].update(ids)
            return
        for unit in ids:
            if unit not in self._subtrees:
                self._subtrees[unit] = self.tree.subtree(unit)
                self._units.update(self._subtrees[unit])
            for edge in edges:
                self._edge_units[edge].update(self._subtrees[unit])
        self._unit_revenue = self._unit_revenue or metric == "revenue"

    async def read(self, session: AsyncSession) -> None:
        """Run the reads every registered question needs (at most four statements)."""
        if not self._needs:
            return
        whole = len(self._reps) >= WHOLE_AT_REPS or len(self._units) >= WHOLE_AT_UNITS
        reps = None if whole else sorted(self._reps)
        units = None if whole else sorted(self._units)
        if not whole and not reps and not units:
            return
        columns = sorted({(n.metric, n.days) for n in self._needs.values() if n.days is not None})
        if columns:
            await self._read_rollup(session, columns, reps, units)
        edges = sorted({edge for n in self._needs.values() for edge in n.edges})
        if edges:
            await self._read_edges(session, edges)
        if self._unit_revenue:
            ranges = sorted({n.days for n in self._needs.values() if n.metric == "revenue" and n.days})
            await self._read_no_rep(session, ranges, units)

    def actual(
        self, scope: str, metric: str, scope_id: UUID, start: date, end: date, timezone: str
    ) -> Decimal:
        """The figure of one registered question for one of its scopes (after read)."""
        key = (metric, start, end, "UTC" if metric == "revenue" else timezone)
        if scope == "user":
            return self._rep_figure(self._needs[key], scope_id)
        per_unit = self._per_unit.get(key)
        if per_unit is None:
            per_unit = self._per_unit[key] = self._unit_figures(self._needs[key])
        subtree = self._subtrees.get(scope_id)
        if subtree is None:
            subtree = self._subtrees[scope_id] = self.tree.subtree(scope_id)
        return sum((per_unit.get(u, _ZERO) for u in subtree), _ZERO)

    def actuals(
        self, scope: str, metric: str, scope_ids: Sequence[UUID], start: date, end: date, timezone: str
    ) -> Mapping[UUID, Decimal]:
        """`actual` for many scopes of one question (a sweep's 10,000 reps: one dict, not a call each).

        A scope without a figure may be absent (read it with `.get(scope_id, 0)`); reps read from
        the rollup alone get the rollup's own figures, not a copy (read-only, then)."""
        key = (metric, start, end, "UTC" if metric == "revenue" else timezone)
        need = self._needs[key]
        if scope != "user" or need.edges:
            return {i: self.actual(scope, metric, i, start, end, timezone) for i in scope_ids}
        return self._rolled[need.metric, need.days] if need.days is not None else {}

    def _rep_figure(self, need: _Need, rep: UUID) -> Decimal:
        total = _ZERO
        if need.days is not None:
            total = self._rolled[need.metric, need.days].get(rep, _ZERO)
        for edge in need.edges:
            count = self._edges[edge].get(rep)
            if count:
                total += count
        return total

    def _unit_figures(self, need: _Need) -> dict[UUID, Decimal]:
        """The need's figure per unit: its reps' rows (+ orders without a rep), not yet rolled up."""
        per_unit: dict[UUID, Decimal] = defaultdict(lambda: _ZERO)
        rep_unit = self._rep_unit
        if need.days is not None:
            for rep, value in self._rolled[need.metric, need.days].items():
                unit = rep_unit.get(rep)
                if unit is not None:
                    per_unit[unit] += value
            if need.metric == "revenue":
                for unit, value in self._no_rep.get(need.days, {}).items():
                    per_unit[unit] += value
        for edge in need.edges:
            for rep, count in self._edges[edge].items():
                unit = rep_unit.get(rep)
                if unit is not None:
                    per_unit[unit] += count
        return per_unit

    async def _read_rollup(
        self,
        session: AsyncSession,
        columns: list[tuple[str, _Range]],
        reps: Sequence[UUID] | None,
        units: Sequence[UUID] | None,
    ) -> None:
        first = min(days[0] for _metric, days in columns)
        last = max(days[1] for _metric, days in columns)
        # A column over every day read needs no CASE: a sweep's one question (a plain SUM is an
        # eighth cheaper for PostgreSQL over 170,000 rep-days).
        sums = [
            func.sum(
                _rolled[metric]
                if (low, high) == (first, last)
                else case((_rolled.day.between(low, high), _rolled[metric]))
            ).label(f"c{n}")
            for n, (metric, (low, high)) in enumerate(columns)
        ]
        in_days = _rolled.day.between(first, last)
        postgresql = dialect_of(session) == "postgresql"

        def per_rep(*where: Any) -> Any:
            # Aggregated first, then joined: one users lookup per rep, not per rep and day.
            summed = select(_rolled.rep_id, *sums).where(in_days, *where).group_by(_rolled.rep_id).subquery()
            figures = [summed.c[f"c{n}"] for n in range(len(columns))]
            rep = fetched_uuid(summed.c.rep_id, postgresql)
            if not self._units:  # reps only: their units play no part
                return select(rep, *figures, null())
            unit = fetched_uuid(User.org_unit_id, postgresql)
            return select(rep, *figures, unit).outerjoin(User, User.id == summed.c.rep_id)

        statement = _by_reps_or_units(per_rep, _rolled.rep_id, reps, units)
        for column in columns:
            self._rolled[column] = {}
        # On the session's connection: plain rows, without the ORM's per-row result handling.
        # .all(): one fetch, not the async adapter's fetchone per row.
        rows = (await (await session.connection()).execute(statement)).all()
        rep_unit = self._rep_unit
        if len(columns) == 1:  # a sweep's one question: the same as below, without the zip per row
            into = self._rolled[columns[0]]
            for rep, value, unit in rows:
                rep_unit[rep] = unit
                if value is not None:
                    into[rep] = value if isinstance(value, Decimal) else Decimal(value)
            return
        for row in rows:
            rep = row[0]
            rep_unit[rep] = row[-1]
            for column, value in zip(columns, row[1:-1], strict=True):
                if value is not None:
                    self._rolled[column][rep] = value if isinstance(value, Decimal) else Decimal(value)

    async def _read_edges(self, session: AsyncSession, edges: list[_Edge]) -> None:
        """Each rep's completed check-ins in the edges it needs (as a rep asked, or in a unit
        asked): only those reps, whose edges differ by time zone, and each overlapping stretch
        of edges read once (the disjoint pieces between all their ends)."""
        units = set().union(*self._edge_units.values())
        reps_of: dict[UUID, list[UUID]] = defaultdict(list)
        if units:
            whole = len(units) >= WHOLE_AT_UNITS
            postgresql = dialect_of(session) == "postgresql"
            query = select(fetched_uuid(User.id, postgresql), fetched_uuid(User.org_unit_id, postgresql))
            if not whole:
                query = query.where(among(User.org_unit_id, sorted(units)))
            for rep, unit in (await (await session.connection()).execute(query)).all():
                self._rep_unit[rep] = unit
                if unit is not None:
                    reps_of[unit].append(rep)
        needers: dict[_Edge, set[UUID]] = {}
        for edge in edges:
            needers[edge] = set(self._edge_reps.get(edge, ()))
            for unit in self._edge_units.get(edge, ()):
                needers[edge].update(reps_of.get(unit, ()))
        ends = sorted({moment for edge in edges for moment in edge})
        pieces: list[tuple[_Edge, set[UUID]]] = []
        for low, high in pairwise(ends):
            reps = set().union(*(needers[e] for e in edges if e[0] <= low and high <= e[1]))
            if reps:
                pieces.append(((low, high), reps))
        for edge in edges:
            self._edges[edge] = {}
        if not pieces:
            return
        # One select per piece, of the reps that need it: on PostgreSQL all in one statement,
        # each piece's reps one array; on SQLite chunked IN lists. (Reading every rep's check-ins
        # of a piece and dropping the rest here was slower at 10,000 reps: 460-590 ms against
        # 335 ms, the extra rows each a heap fetch.)
        postgresql = dialect_of(session) == "postgresql"
        rep_id = fetched_uuid(Checkin.rep_id, postgresql)
        parts = [
            select(rep_id, literal(n).label("piece"), func.count().label("visits"))
            .where(
                Checkin.checked_out_at.is_not(None),
                Checkin.checked_in_at >= low,
                Checkin.checked_in_at < high,
                among(Checkin.rep_id, batch),
            )
            .group_by(Checkin.rep_id)
            for n, ((low, high), reps) in enumerate(pieces)
            for batch in id_batches(list(reps), postgresql)  # (sorting 10,000 UUIDs costs ~60 ms)
        ]
        statements = [union_all(*parts)] if postgresql and len(parts) > 1 else parts
        counted: dict[int, list[tuple[UUID, int]]] = defaultdict(list)
        connection = await session.connection()
        for statement in statements:
            for rep, n, visits in (await connection.execute(statement)).all():
                counted[n].append((rep, visits))
        for n, ((low, high), _reps) in enumerate(pieces):
            for edge in edges:
                if edge[0] <= low and high <= edge[1]:
                    into = self._edges[edge]
                    for rep, visits in counted[n]:
                        into[rep] = into.get(rep, 0) + visits

    async def _read_no_rep(
        self, session: AsyncSession, ranges: list[_Range], units: Sequence[UUID] | None
    ) -> None:
        """Orders without a rep count for their customer's unit (actuals.revenue_query)."""
        for days in ranges:
            self._no_rep[days] = {}
        if not ranges:
            return
        first, last = min(low for low, _ in ranges), max(high for _, high in ranges)
        sums = [
            func.sum(case((Order.ordered_on.between(low, high), Order.amount))).label(f"c{n}")
            for n, (low, high) in enumerate(ranges)
        ]
        statement = (
            select(Customer.org_unit_id, *sums)
            .select_from(Order)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Order.rep_id.is_(None), Order.ordered_on.between(first, last))
            .group_by(Customer.org_unit_id)
        )
        if units is not None:
            statement = statement.where(among(Customer.org_unit_id, units))
        for row in await session.execute(statement):
            if row[0] is None:
                continue
            for days, value in zip(ranges, row[1:], strict=True):
                if value is not None:
                    self._no_rep[days][row[0]] = value if isinstance(value, Decimal) else Decimal(value)


def _by_reps_or_units(
    per_rep: Any, rep_column: Any, reps: Sequence[UUID] | None, units: Sequence[UUID] | None
) -> Any:
    """Every rep (None, None); else the reps asked and the reps of the units asked."""
    if reps is None and units is None:
        return per_rep()
    parts = []
    if reps:
        parts.append(per_rep(among(rep_column, reps)))
    if units:
        parts.append(per_rep(rep_column.in_(select(User.id).where(among(User.org_unit_id, units)))))
    return parts[0] if len(parts) == 1 else union_all(*parts)
