"""How the targets of a breakdown hang together: a target's time parent and top, its live
children, the org children's cells of a period, and the mirroring that keeps the org x time grid
adding up both ways (every child's periods sum to its total, every period's children to the part).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import delete, select

from server.core.errors import ProblemError
from server.core.services import Service
from server.db.models import Target
from server.domain.breakdown import split_grid
from server.services.plans.targets import EDITABLE, PlansService, target_key


def places_for(metric: str, amount: Decimal) -> int:
    """Counted metrics split into whole numbers (when the parent is whole); money into cents."""
    return 0 if metric != "revenue" and amount == amount.to_integral_value() else 2


def draft_child(
    parent: Target,
    scope: str,
    scope_id: UUID,
    granularity: str,
    start: date,
    end: date,
    amount: Decimal,
    weights: dict[str, Any] | None = None,
) -> Target:
    """A draft child of `parent` (its metric, seasonal weights and distribution unless given)."""
    return Target(
        id=uuid4(),
        scope=scope,
        scope_id=scope_id,
        metric=parent.metric,
        granularity=granularity,
        period_start=start,
        period_end=end,
        amount=amount,
        parent_id=parent.id,
        weights=weights if weights is not None else parent.weights,
        distribution_id=parent.distribution_id,
        status="draft",
    )


class BreakdownGrid(Service):
    async def time_parent(self, target: Target) -> Target | None:
        """The target this one splits over time (same scope), or None at the scope's top."""
        if target.parent_id is None:
            return None
        parent = await self.session.get(Target, target.parent_id)
        same = parent is not None and (parent.scope, parent.scope_id) == (target.scope, target.scope_id)
        return parent if same else None

    async def top(self, target: Target) -> Target:
        """The scope's top target above this one over time."""
        top = target
        while (parent := await self.time_parent(top)) is not None:
            top = parent
        return top

    async def live_children(self, target: Target, same_scope: bool) -> list[Target]:
        """Children over time (`same_scope`) or over the org, one per period and scope."""
        rows = await self.session.scalars(
            select(Target)
            .where(Target.parent_id == target.id, Target.status != "superseded")
            .order_by(Target.period_start, Target.scope_id)
        )
        # One per period and scope: the approved one (in force) over a pending re-plan of it.
        current: dict[tuple[Any, ...], Target] = {}
        for t in rows:
            if ((t.scope, t.scope_id) == (target.scope, target.scope_id)) != same_scope:
                continue
            key = (t.scope, t.scope_id, t.granularity, t.period_start, t.period_end)
            held = current.get(key)
            if held is None or (t.status == "approved") > (held.status == "approved"):
                current[key] = t
        return list(current.values())

    async def cell(self, scope: str, scope_id: UUID, like: Target) -> Target | None:
        """The newest live target of this scope with `like`'s metric and period."""
        return await self.session.scalar(
            select(Target).where(
                Target.scope == scope, Target.scope_id == scope_id, Target.metric == like.metric,
                Target.granularity == like.granularity, Target.period_start == like.period_start,
                Target.period_end == like.period_end, Target.status != "superseded",
            ).order_by(Target.version.desc()).limit(1)
        )  # fmt: skip

    async def org_cells(self, target: Target) -> list[Target]:
        """The org children's cells of the target's period (linked at the scope's top target)."""
        top = await self.top(target)
        linked = await self.live_children(top, same_scope=False)
        if top.id == target.id:
            return linked
        cells = [await self.cell(c.scope, c.scope_id, target) for c in linked]
        return [c for c in cells if c is not None]

    async def follows_parent_unit(self, target: Target) -> bool:
        """True when the unit above this scope has split this period over time already."""
        top = await self.top(target)
        link = await self.session.get(Target, top.parent_id) if top.parent_id else None
        if link is None:
            return False
        above = await self.cell(link.scope, link.scope_id, target)
        return above is not None and bool(await self.live_children(above, same_scope=True))

    async def mirror(
        self, cell: Target, time_children: list[Target], org_cells: list[Target], replace: bool = False
    ) -> None:
        """The org children's cells under `cell`'s time children, split so every child's periods
        sum to its own total and every period's children to the cell's part (a grid), then the
        same one level down, and for the org children's own org children."""
        if not org_cells or not time_children:
            return
        places = places_for(cell.metric, Decimal(0))
        replaced: list[UUID] = []
        for org_cell in org_cells:
            existing = await self.live_children(org_cell, same_scope=True)
            if existing and not replace:
                return  # already mirrored (an earlier breakdown of this cell)
            locked = [t for t in existing if t.status not in EDITABLE]
            if locked:
                raise ProblemError(
                    409,
                    f"The periods of {org_cell.scope} {org_cell.scope_id} are already {locked[0].status}; "
                    "adjust them instead of breaking this target down again.",
                    [{"field": "status", "message": f"children are {locked[0].status}"}],
                )
            replaced += [t.id for t in existing]
        grid = split_grid(
            {i: c.amount for i, c in enumerate(org_cells)}, {j: t.amount for j, t in enumerate(time_children)},
            places,
        )  # fmt: skip
        created = {
            (i, j): draft_child(org_cell, org_cell.scope, org_cell.scope_id, part.granularity,
                                part.period_start, part.period_end, grid[i][j])
            for i, org_cell in enumerate(org_cells)
            for j, part in enumerate(time_children)
        }  # fmt: skip
        rows = list(created.values())
        versions = await self.ctx.get(PlansService).next_versions([target_key(r) for r in rows], replaced)
        if replaced:
            await self.session.execute(delete(Target).where(Target.id.in_(replaced)))
        for row in rows:
            row.version = versions[target_key(row)]
        self.session.add_all(rows)
        await self.session.flush()
        for j, part in enumerate(time_children):  # one level down: the part's own periods
            below = await self.live_children(part, same_scope=True)
            await self.mirror(part, below, [created[(i, j)] for i in range(len(org_cells))])
        for i, org_cell in enumerate(org_cells):  # and the children's own org children
            own = [created[(i, j)] for j in range(len(time_children))]
            await self.mirror(org_cell, own, await self.org_cells(org_cell), replace=True)
