"""The one place the plan invariant is kept (docs/plans.md, "The invariant").

`PlanIndex` is one plan (a root target and everything below it that is in force) in memory.
`PlanIndex.change` works out every amount a change implies, for adjustments (either mode) and
re-plans alike; `PlanIndex.enforce` checks the invariant (`domain.plan_invariant`) and refuses
the operation (409, nothing written) if it would not hold. Every service that changes amounts
or statuses of approved targets ends with `enforce`.

How a change spreads, so that every level still sums exactly:
- a rep (a scope without org children) owns its numbers: the changed cell, then either its
  time ancestors by the same difference ("the year moves with it") or its open time siblings
  in proportion ("rebalance": the year stays); each changed cell's own children are re-split
  in proportion, closed periods keeping theirs;
- a unit with org children splits the change over its children's cells of the same period
  (in proportion) and each child applies it in the same mode;
- every unit's cell is then the sum of its children's cells at the same period (roll-up).
Counted metrics move in whole numbers, money in cents (largest remainder).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.errors import ProblemError
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import AuditEntry, Target
from server.domain.apportion import apportion, apportion_grid, from_units, to_units
from server.domain.plan_invariant import PlanCell, violations
from server.domain.plans import FieldProblem
from server.services.plans.progress import ProgressService, chunks

Mode = Literal["parent", "rebalance"]
MODES: tuple[Mode, ...] = ("rebalance", "parent")
ScopeKey = tuple[str, UUID]
PeriodKey = tuple[str, object, object]


def places(metric: str) -> int:
    return 2 if metric == "revenue" else 0


def scope_key(target: Target) -> ScopeKey:
    return (target.scope, target.scope_id)


def period_key(target: Target) -> PeriodKey:
    return (target.granularity, target.period_start, target.period_end)


def plan_cells(targets: Iterable[Target], amounts: dict[UUID, Decimal] | None = None) -> list[PlanCell]:
    amounts = amounts or {}
    return [
        PlanCell(t.id, scope_key(t), t.granularity, t.period_start, t.period_end,
                 amounts.get(t.id, t.amount), t.parent_id)
        for t in targets
    ]  # fmt: skip


async def plan_root(session: AsyncSession, target: Target) -> Target:
    """The top of the approved plan `target` belongs to (its chain of approved parents)."""
    root = target
    seen = {root.id}
    while root.parent_id is not None and root.parent_id not in seen:
        parent = await session.get(Target, root.parent_id)
        if parent is None or parent.status != "approved":
            break
        seen.add(parent.id)
        root = parent
    return root


async def in_force_below(session: AsyncSession, root: Target, statuses: tuple[str, ...]) -> list[Target]:
    """The root and its descendants in these statuses (one query per level)."""
    found = [root]
    frontier = [root.id]
    while frontier:
        level: list[Target] = []
        for part in chunks(frontier):
            level += (
                await session.scalars(
                    select(Target).where(Target.parent_id.in_(part), Target.status.in_(statuses))
                )
            ).all()
        found += level
        frontier = [t.id for t in level]
    return found


@dataclass
class Change:
    """New amounts a change implies, and the cells the ±15% guard measures (the changed cell,
    its time ancestors or absorbing siblings, and the units above them at the same periods)."""

    amounts: dict[UUID, Decimal] = field(default_factory=dict)
    guarded: set[UUID] = field(default_factory=set)

    def changed(self, index: PlanIndex) -> list[Target]:
        return [index.cells[i] for i, v in self.amounts.items() if index.cells[i].amount != v]


class PlanIndex:
    """One plan's cells in force, with both dimensions' links."""

    def __init__(
        self, targets: Iterable[Target], is_closed: Callable[[Target], bool] = lambda t: False
    ) -> None:
        self.cells = {t.id: t for t in targets}
        self.is_closed = is_closed
        self.time_children: dict[UUID, list[Target]] = defaultdict(list)
        self.org_children: dict[UUID, list[Target]] = defaultdict(list)
        self.at: dict[tuple[ScopeKey, PeriodKey], Target] = {}
        self.by_scope: dict[ScopeKey, list[Target]] = defaultdict(list)
        for t in self.cells.values():
            self.at[(scope_key(t), period_key(t))] = t
            self.by_scope[scope_key(t)].append(t)
            parent = self.cells.get(t.parent_id) if t.parent_id else None
            if parent is not None:
                same = scope_key(parent) == scope_key(t)
                (self.time_children if same else self.org_children)[parent.id].append(t)
        for children in (*self.time_children.values(), *self.org_children.values()):
            children.sort(key=lambda c: (c.period_start, c.scope, str(c.scope_id)))
        # scope -> the scopes linked below it (org children of its top cell)
        self.child_scopes: dict[ScopeKey, list[ScopeKey]] = defaultdict(list)
        self.parent_scope: dict[ScopeKey, ScopeKey] = {}
        for parent_id, children in self.org_children.items():
            for child in children:
                self.child_scopes[scope_key(self.cells[parent_id])].append(scope_key(child))
                self.parent_scope[scope_key(child)] = scope_key(self.cells[parent_id])

    @property
    def metric(self) -> str:
        return next(iter(self.cells.values())).metric

    def time_parent(self, cell: Target) -> Target | None:
        parent = self.cells.get(cell.parent_id) if cell.parent_id else None
        return parent if parent is not None and scope_key(parent) == scope_key(cell) else None

    def org_cells(self, cell: Target) -> list[Target]:
        """The org children's cells of the same period (a team's March -> its reps' Marches)."""
        found = [self.at.get((s, period_key(cell))) for s in self.child_scopes.get(scope_key(cell), [])]
        return [c for c in found if c is not None]

    def violations(self, amounts: dict[UUID, Decimal] | None = None) -> list[str]:
        return violations(plan_cells(self.cells.values(), amounts), counted=self.metric != "revenue")

    def enforce(self, amounts: dict[UUID, Decimal] | None = None) -> None:
        """409 (the transaction rolls back) when the plan would not add up."""
        problems = self.violations(amounts)
        if problems:
            raise ProblemError(
                409,
                "This would leave the plan not adding up: " + "; ".join(problems[:3]),
                [{"field": "amount", "message": p} for p in problems[:20]],
            )

    # -- working out a change ---------------------------------------------------------------

    def change(self, cell: Target, new_amount: Decimal, mode: Mode) -> Change:
        """Every amount that moves when `cell` becomes `new_amount`; FieldProblem if impossible."""
        result = Change()
        if mode == "parent":
            guarded = [cell, *self._ancestors(cell)]
            self._move(cell, new_amount, result)
        else:
            level = self._level(cell, new_amount)
            guarded = list(level)
            if self.time_parent(cell) is not None:
                self._regroup(level, result)
            else:  # org siblings (top cells) or a standalone target: each moves on its own
                for target, amount in level.items():
                    self._move(target, amount, result)
        self._roll_up(result)
        result.guarded = {t.id for t in guarded}
        for target in guarded:  # and the units above them at the same periods
            scope = scope_key(target)
            while scope in self.parent_scope:
                scope = self.parent_scope[scope]
                above = self.at.get((scope, period_key(target)))
                if above is not None:
                    result.guarded.add(above.id)
        return result

    def _ancestors(self, cell: Target) -> list[Target]:
        found, parent = [], self.time_parent(cell)
        while parent is not None:
            found.append(parent)
            parent = self.time_parent(parent)
        return found

    def _level(self, cell: Target, new_amount: Decimal) -> dict[Target, Decimal]:
        """Rebalance: the changed cell and its open siblings, which absorb the difference."""
        level = {cell: new_amount}
        parent = self.cells.get(cell.parent_id) if cell.parent_id else None
        if parent is None:
            return level  # a standalone target: nothing to keep whole
        same_scope = self.time_parent(cell) is not None
        everyone = self.time_children[parent.id] if same_scope else self.org_children[parent.id]
        siblings = [s for s in everyone if s.id != cell.id and not self.is_closed(s)]
        if not siblings:
            raise FieldProblem(
                "mode",
                "no other open period or sibling is left to rebalance over; let the parent move with it",
            )
        room = sum((s.amount for s in siblings), Decimal(0))
        remaining = room - (new_amount - cell.amount)
        if remaining < 0:
            raise FieldProblem(
                "new_amount",
                f"the open periods and siblings left hold {room} and cannot give more; "
                "let the parent move with it instead",
            )
        shares = apportion(remaining, {s.id: s.amount for s in siblings}, places(cell.metric))
        level.update({s: shares[s.id] for s in siblings})
        return level

    def _move(self, cell: Target, new_amount: Decimal, result: Change) -> None:
        """`cell` becomes `new_amount` and its time ancestors move by the same difference."""
        children = self.org_cells(cell)
        if children:
            shares = apportion(new_amount, {c.id: c.amount for c in children}, places(cell.metric))
            for child in children:
                self._move(child, shares[child.id], result)
            return
        delta = new_amount - result.amounts.get(cell.id, cell.amount)
        result.amounts[cell.id] = new_amount
        for ancestor in self._ancestors(cell):
            result.amounts[ancestor.id] = result.amounts.get(ancestor.id, ancestor.amount) + delta
        self._split_down(cell, new_amount, result)

    def _regroup(self, level: dict[Target, Decimal], result: Change) -> None:
        """Cells of one scope and disjoint periods whose total stays: below a unit, a grid keeps
        every child's total over these periods and meets the unit's new cells."""
        first = next(iter(level))
        child_scopes = list(self.child_scopes.get(scope_key(first), []))
        if not child_scopes:
            for target, amount in level.items():
                result.amounts[target.id] = amount
                self._split_down(target, amount, result)
            return
        unit = places(first.metric)
        rows: dict[ScopeKey, int] = {}
        weights: dict[tuple[ScopeKey, UUID], Decimal] = {}
        if any((scope, period_key(t)) not in self.at for scope in child_scopes for t in level):
            child_scopes = []  # not mirrored: the invariant check names it
        if not child_scopes:
            for target, amount in level.items():
                result.amounts[target.id] = amount
            return
        for scope in child_scopes:
            cells = [self.at[(scope, period_key(t))] for t in level]
            rows[scope] = sum(to_units(c.amount, unit) for c in cells)
            weights.update({(scope, t.id): c.amount for t, c in zip(level, cells, strict=True)})
        cols = {t.id: to_units(amount, unit) for t, amount in level.items()}
        grid = apportion_grid(rows, cols, weights)
        for scope in child_scopes:
            self._regroup(
                {self.at[(scope, period_key(t))]: from_units(grid[(scope, t.id)], unit) for t in level},
                result,
            )

    def _split_down(self, cell: Target, new_amount: Decimal, result: Change) -> None:
        children = self.time_children.get(cell.id, [])
        if not children:
            return
        closed_cell = self.is_closed(cell)
        fixed = [c for c in children if self.is_closed(c) and not closed_cell]
        free = [c for c in children if c not in fixed]
        available = new_amount - sum((c.amount for c in fixed), Decimal(0))
        if available < 0 or not free:
            raise FieldProblem(
                "new_amount",
                f"the closed periods of {cell.granularity} {cell.period_start} already hold more than {new_amount}",
            )
        shares = apportion(available, {c.id: c.amount for c in free}, places(cell.metric))
        for child in free:
            result.amounts[child.id] = shares[child.id]
            self._split_down(child, shares[child.id], result)

    def _roll_up(self, result: Change) -> None:
        """Every unit's cell = the sum of its org children's cells at that period, deepest first."""
        depth: dict[ScopeKey, int] = {}

        def depth_of(scope: ScopeKey) -> int:
            if scope not in depth:
                depth[scope] = 0 if scope not in self.parent_scope else depth_of(self.parent_scope[scope]) + 1
            return depth[scope]

        parents = sorted(self.child_scopes, key=depth_of, reverse=True)
        for scope in parents:
            for cell in self.by_scope[scope]:
                parts = self.org_cells(cell)
                if len(parts) != len(self.child_scopes[scope]):
                    continue  # not mirrored (the invariant check names it)
                total = sum((result.amounts.get(p.id, p.amount) for p in parts), Decimal(0))
                if total != result.amounts.get(cell.id, cell.amount):
                    result.amounts[cell.id] = total


class PlanLedger(Service):
    """Loads a plan with its closed periods, writes a change, and keeps every approved plan whole."""

    async def load(self, target: Target) -> PlanIndex:
        """The in-force plan `target` belongs to (it must be approved itself to be included)."""
        root = await plan_root(self.session, target)
        cells = [c for c in await in_force_below(self.session, root, ("approved",)) if c.status == "approved"]
        today = await self._today_by_scope(cells)
        return PlanIndex(cells, lambda t: t.period_end < today.get(scope_key(t), date.max))

    async def _today_by_scope(self, cells: list[Target]) -> dict[ScopeKey, date]:
        """Each scope's local today (its unit's time zone; a rep's own)."""
        tree = await OrgTree.load(self.session)
        by_kind: dict[str, set[UUID]] = defaultdict(set)
        for cell in cells:
            by_kind[cell.scope].add(cell.scope_id)
        today: dict[ScopeKey, date] = {}
        progress = self.ctx.get(ProgressService)
        for kind, ids in by_kind.items():
            homes = await progress.homes(kind, sorted(ids), tree)
            for scope_id in ids:
                zone = homes[scope_id].timezone if scope_id in homes else "UTC"
                today[(kind, scope_id)] = self.clock.local_date(zone)
        return today

    async def enforce_for(self, targets: Iterable[Target]) -> None:
        """Check the invariant of every approved plan these targets belong to."""
        checked: set[UUID] = set()
        for target in targets:
            if target.status != "approved" or target.id in checked:
                continue
            index = await self.load(target)
            checked |= set(index.cells)
            index.enforce()

    def write(
        self, actor_id: UUID, index: PlanIndex, change: Change, note: dict[str, Any], rebaseline: bool
    ) -> list[Target]:
        """Apply the new amounts (audited: target.adjusted before/after); an approved change also
        becomes the new baseline of every cell it moved."""
        changed = change.changed(index)
        now = self.clock.now()
        for target in changed:
            before = target.amount
            target.amount = change.amounts[target.id]
            if rebaseline:
                target.baseline_amount = target.amount
            self.session.add(
                AuditEntry(
                    actor_id=actor_id,
                    action="target.adjusted",
                    entity="target",
                    entity_id=target.id,
                    before={"amount": str(before)},
                    after={"amount": str(target.amount), **note},
                    at=now,
                )
            )
        return changed
