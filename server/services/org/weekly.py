"""The executive's weekly summary: each region's pace at the week's end and its change over the
week, revenue booked in the week, escalations opened and resolved, and the reps who moved most.

Pace on a past date counts only what was booked by that date: the target and expected-to-date come
from ProgressService.for_scopes, the actual from ProgressService.actuals up to the date (for_scopes
counts the whole period, which is the same thing only for today).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.core.access import Scope
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import Escalation, EscalationEvent, User
from server.domain.numbers import ratio
from server.domain.pace import PaceStatus, Thresholds, status_for_lag
from server.services.escalations.ladder import scope_clause
from server.services.plans.calendar import load_thresholds
from server.services.plans.progress import ProgressService

MOVERS = 5


@dataclass(frozen=True)
class PaceOn:
    """Month-to-date revenue pace on one date."""

    actual: Decimal
    expected: Decimal
    pace: Decimal | None
    status: str  # a PaceStatus value


@dataclass(frozen=True)
class RegionWeek:
    id: UUID
    name: str
    now: PaceOn | None  # at the week's end (or today)
    before: PaceOn | None  # at the end of the previous week
    week_revenue: Decimal
    opened: int
    resolved: int

    @property
    def change(self) -> Decimal | None:
        if self.now is None or self.before is None or self.now.pace is None or self.before.pace is None:
            return None
        return self.now.pace - self.before.pace


@dataclass(frozen=True)
class Mover:
    rep_id: UUID
    name: str
    team: str
    pace: Decimal
    change: Decimal


@dataclass(frozen=True)
class WeeklySummary:
    week_start: date
    week_end: date
    as_of: date
    regions: list[RegionWeek]
    risers: list[Mover]
    fallers: list[Mover]


class OrgWeeklyService(Service):
    async def summary(self, access: Scope, week_start: date, timezone: str) -> WeeklySummary:
        """The ISO week starting on `week_start` (a Monday), in the caller's time zone."""
        week_end = week_start + timedelta(days=6)
        as_of = min(week_end, self.clock.local_date(timezone))
        before = week_start - timedelta(days=1)
        tree = await OrgTree.load(self.session)
        region_ids = [u.id for u in tree.units.values() if u.kind == "region" and access.sees_unit(u.id)]
        now_pace = await self.pace_on("org_unit", region_ids, as_of, tree)
        before_pace = await self.pace_on("org_unit", region_ids, before, tree)
        booked = await self.ctx.get(ProgressService).actuals(
            "org_unit", region_ids, week_start, as_of, "revenue", tree=tree
        )
        opened, resolved = await self._escalation_counts(access, tree, week_start, week_end, timezone)
        regions = [
            RegionWeek(
                rid,
                tree.units[rid].name,
                now_pace.get(rid),
                before_pace.get(rid),
                booked.get(rid, Decimal(0)),
                opened[rid],
                resolved[rid],
            )
            for rid in sorted(region_ids, key=lambda r: tree.units[r].name)
        ]
        movers = await self._movers(access, tree, as_of, before)
        risers = [m for m in movers if m.change > 0][:MOVERS]
        fallers = sorted((m for m in movers if m.change < 0), key=lambda m: m.change)[:MOVERS]
        return WeeklySummary(week_start, week_end, as_of, regions, risers, fallers)

    async def pace_on(
        self,
        scope: str,
        ids: list[UUID],
        day: date,
        tree: OrgTree,
        units: dict[UUID, UUID | None] | None = None,
    ) -> dict[UUID, PaceOn]:
        """Revenue pace as of `day`, counting only orders booked by then.

        `units` maps each scope to its org unit (for the org's thresholds); units map to themselves.
        """
        progress = self.ctx.get(ProgressService)
        items = await progress.for_scopes(scope, ids, day)
        by_start: dict[date, list[UUID]] = defaultdict(list)
        for scope_id, item in items.items():
            by_start[item.period_start].append(scope_id)
        actuals: dict[UUID, Decimal] = {}
        for start, group in by_start.items():
            actuals.update(await progress.actuals(scope, group, start, day, "revenue", tree=tree))
        company = {i: tree.company_of((units or {}).get(i, i)) for i in items}
        thresholds = await load_thresholds(self.session, set(company.values()))
        found = {}
        for scope_id, item in items.items():
            actual, expected = actuals.get(scope_id, Decimal(0)), item.progress.expected_to_date
            pace = ratio(actual / expected) if expected > 0 else None
            status = PaceStatus.NONE
            if pace is not None and item.progress.warnable:
                limits = thresholds.get(company[scope_id], Thresholds())  # type: ignore[arg-type]
                status = status_for_lag(max(Decimal(0), 1 - pace), limits)
            found[scope_id] = PaceOn(actual, expected, pace, status.value)
        return found

    async def _escalation_counts(
        self, access: Scope, tree: OrgTree, start: date, end: date, timezone: str
    ) -> tuple[Counter[UUID], Counter[UUID]]:
        zone = ZoneInfo(timezone)
        begin = datetime.combine(start, time.min, zone).astimezone(UTC)
        finish = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC)
        rows = await self.session.execute(
            select(EscalationEvent.event, Escalation.org_unit_id)
            .join(Escalation, Escalation.id == EscalationEvent.escalation_id)
            .where(
                EscalationEvent.at >= begin,
                EscalationEvent.at < finish,
                EscalationEvent.event.in_(("opened", "reopened", "resolved")),
                scope_clause(access),
            )
        )
        opened: Counter[UUID] = Counter()
        resolved: Counter[UUID] = Counter()
        for event, unit_id in rows:
            if unit_id is None:
                continue
            region = next((u for u in tree.ancestors(unit_id) if tree.units[u].kind == "region"), None)
            if region is not None:
                (resolved if event == "resolved" else opened)[region] += 1
        return opened, resolved

    async def _movers(self, access: Scope, tree: OrgTree, as_of: date, before: date) -> list[Mover]:
        """Reps by change in month-to-date pace over the week, biggest rise first."""
        reps = (
            await self.session.execute(
                select(User.id, User.name, User.org_unit_id).where(
                    User.role == "rep", User.active.is_(True), access.user_clause(User.id)
                )
            )
        ).all()
        ids = [r.id for r in reps]
        units = {r.id: r.org_unit_id for r in reps}
        now_pace = await self.pace_on("user", ids, as_of, tree, units)
        before_pace = await self.pace_on("user", ids, before, tree, units)
        movers = []
        for rep in reps:
            now, then = now_pace.get(rep.id), before_pace.get(rep.id)
            if now is None or then is None or now.pace is None or then.pace is None:
                continue
            team = tree.units[rep.org_unit_id].name if rep.org_unit_id in tree.units else ""
            movers.append(Mover(rep.id, rep.name, team, now.pace, now.pace - then.pace))
        return sorted(movers, key=lambda m: m.change, reverse=True)
