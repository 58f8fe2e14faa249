"""The plan tree the /plans pages show: org units and reps with their target and pace for a period."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import func, select

from server.core.access import Scope
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import Customer, Target, User
from server.domain.plans import natural_end
from server.services.plans.progress import ProgressService, ScopeProgress
from server.services.plans.targets import LIVE

_PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4])|-(\d{2}))?$")


@dataclass(frozen=True)
class Period:
    key: str  # "2026", "2026-Q4", "2026-11"
    granularity: str
    start: date
    end: date

    def as_of(self, today: date) -> date:
        """Pace for a past period is read at its end; a future one at its start."""
        return min(max(today, self.start), self.end)


def parse_period(key: str | None, today: date) -> Period:
    """ "2026" (year), "2026-Q4" (quarter) or "2026-11" (month); this year when absent or unreadable."""
    match = _PERIOD.match(key or "")
    if not match or (match.group(3) and not 1 <= int(match.group(3)) <= 12):
        return parse_period(str(today.year), today)
    year = int(match.group(1))
    if match.group(2):
        start, granularity = date(year, (int(match.group(2)) - 1) * 3 + 1, 1), "quarter"
    elif match.group(3):
        start, granularity = date(year, int(match.group(3)), 1), "month"
    else:
        start, granularity = date(year, 1, 1), "year"
    return Period(key or str(year), granularity, start, natural_end(granularity, start))


def period_choices(year: int) -> list[str]:
    return [str(year)] + [f"{year}-Q{q}" for q in range(1, 5)] + [f"{year}-{m:02d}" for m in range(1, 13)]


@dataclass(frozen=True)
class Node:
    scope: str  # org_unit | user
    id: UUID
    name: str
    kind: str  # company | region | team | rep
    target: Target | None  # the latest live version for the period
    progress: ScopeProgress | None  # from the approved target only
    expandable: bool


class PlanTreeService(Service):
    async def nodes(
        self,
        access: Scope,
        unit_id: UUID,
        period: Period,
        metric: str,
        today: date,
        include_self: bool = False,
    ) -> list[Node]:
        """The unit itself (include_self) or its visible sub-units and reps, with target and pace."""
        tree = await OrgTree.load(self.session)
        units = [unit_id] if include_self else tree.children.get(unit_id, [])
        units = [u for u in units if access.sees_unit(u)]
        reps: list[tuple[UUID, str]] = []
        if not include_self:
            rows = await self.session.execute(
                select(User.id, User.name)
                .where(User.org_unit_id == unit_id, User.role == "rep", User.active.is_(True))
                .order_by(User.name)
            )
            reps = [(r.id, r.name) for r in rows if access.sees_user(r.id, unit_id)]
        targets = await self.latest_targets([*units, *(r for r, _ in reps)], period, metric)
        progress = self.ctx.get(ProgressService)
        as_of = period.as_of(today)
        unit_pace = await progress.for_scopes("org_unit", units, as_of, metric, period.granularity)
        rep_pace = await progress.for_scopes("user", [r for r, _ in reps], as_of, metric, period.granularity)
        nodes = [
            Node(
                "org_unit", u, tree.units[u].name, tree.units[u].kind, targets.get(u), unit_pace.get(u), True
            )
            for u in units
        ]
        nodes += [Node("user", r, name, "rep", targets.get(r), rep_pace.get(r), False) for r, name in reps]
        return nodes

    async def latest_targets(self, scope_ids: list[UUID], period: Period, metric: str) -> dict[UUID, Target]:
        if not scope_ids:
            return {}
        rows = await self.session.scalars(
            select(Target)
            .where(
                Target.scope_id.in_(scope_ids),
                Target.metric == metric,
                Target.granularity == period.granularity,
                Target.period_start == period.start,
                Target.status.in_(LIVE),
            )
            .order_by(Target.version)
        )
        return {t.scope_id: t for t in rows}

    async def scope_names(self, pairs: Iterable[tuple[str, UUID]]) -> dict[UUID, str]:
        """Display names for (scope, id) pairs: unit names, user names, customer names."""
        wanted: dict[str, set[UUID]] = {"org_unit": set(), "user": set(), "customer": set()}
        for scope, scope_id in pairs:
            wanted.setdefault(scope, set()).add(scope_id)
        names: dict[UUID, str] = {}
        if wanted["org_unit"]:
            tree = await OrgTree.load(self.session)
            names.update({u: tree.units[u].name for u in wanted["org_unit"] if u in tree.units})
        for model, ids in ((User, wanted["user"]), (Customer, wanted["customer"])):
            if ids:
                rows = await self.session.execute(select(model.id, model.name).where(model.id.in_(ids)))
                names.update({r.id: r.name for r in rows})
        return names

    async def child_counts(self, target_ids: list[UUID]) -> dict[UUID, int]:
        if not target_ids:
            return {}
        rows = await self.session.execute(
            select(Target.parent_id, func.count(Target.id))
            .where(Target.parent_id.in_(target_ids), Target.status.in_(LIVE))
            .group_by(Target.parent_id)
        )
        return {parent: count for parent, count in rows.tuples() if parent is not None}
