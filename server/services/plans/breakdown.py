"""Breaking a target down: over org children (shares, last period's actuals, even) or over time
(seasonal distribution or working days). Children always sum exactly to the parent.

A breakdown creates draft children. Redoing it replaces the previous draft/returned children of
that dimension; children already submitted are left alone and the request is refused (409), and
approved children get a new version that supersedes them when it is approved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from sqlalchemy import delete, select

from server.core.access import Principal
from server.core.audit import AuditService
from server.core.errors import ProblemError, field_error, not_found
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import SeasonalDistribution, Target, User
from server.domain.breakdown import (
    Granularity,
    SubPeriod,
    month_weights_from_json,
    shares_even,
    shares_from_actuals,
    split_amount,
    split_period,
)
from server.domain.plans import FieldProblem
from server.services.plans.breakdown_grid import BreakdownGrid, draft_child, places_for
from server.services.plans.calendar import load_holidays
from server.services.plans.progress import ProgressService
from server.services.plans.targets import EDITABLE, PlansService, target_key

ORG_METHODS = ("explicit", "last_period", "even")
FINER = {"year": ("quarter", "month", "week"), "quarter": ("month", "week"), "month": ("week",), "week": ()}


def previous_period(start: date, end: date, granularity: str) -> tuple[date, date]:
    """The period of the same granularity just before [start, end] (last period's actuals)."""
    if granularity == "week":
        return start - timedelta(days=7), end - timedelta(days=7)
    months = {"year": 12, "quarter": 3, "month": 1}[granularity]
    index = start.year * 12 + start.month - 1 - months
    previous_start = date(index // 12, index % 12 + 1, 1)
    return previous_start, start - timedelta(days=1)


def explicit_shares(shares: Mapping[UUID, Decimal], children: list[UUID]) -> dict[UUID, Decimal]:
    """Validate percentages: one per child, none negative, summing to exactly 100."""
    missing = [str(c) for c in children if c not in shares]
    unknown = [str(s) for s in shares if s not in children]
    if missing or unknown:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"not a child: {', '.join(unknown)}"] if unknown else []
        )
        raise FieldProblem("shares", "need one share per child; " + "; ".join(parts))
    if any(value < 0 for value in shares.values()):
        raise FieldProblem("shares", "must not be negative")
    total = sum(shares.values(), Decimal(0))
    if total != 100:
        raise FieldProblem("shares", f"sum to {total}, not 100")
    return dict(shares)


class BreakdownService(Service):
    @property
    def grid(self) -> BreakdownGrid:
        return self.ctx.get(BreakdownGrid)

    async def by_org(
        self,
        principal: Principal,
        parent: Target,
        method: str,
        shares: Mapping[UUID, Decimal] | None = None,
    ) -> list[Target]:
        """Split an org unit's target over its sub-units, or over its reps at the lowest level."""
        child_scope, amounts = await self.org_split(parent, method, shares)
        rows = [
            draft_child(
                parent, child_scope, child, parent.granularity, parent.period_start, parent.period_end, amount
            )
            for child, amount in amounts.items()
        ]
        return await self._replace_children(
            principal, parent, rows, {"dimension": "org", "method": method}, mirror_below=True
        )

    async def org_split(
        self, parent: Target, method: str, shares: Mapping[UUID, Decimal] | None = None
    ) -> tuple[str, dict[UUID, Decimal]]:
        """The children's amounts an org breakdown would give (nothing written: the preview)."""
        await self._check_parent(parent)
        if parent.scope != "org_unit":
            raise field_error("scope", "only an org unit's target splits over children (use time for others)")
        if await self.grid.time_parent(parent) is not None:
            raise field_error(
                "dimension",
                "split the unit's top target over its children; its quarters, months and weeks follow",
                status_code=409,
            )
        if method not in ORG_METHODS:
            raise field_error("method", f"must be one of {', '.join(ORG_METHODS)}")
        tree = await OrgTree.load(self.session)
        child_scope, children = await self.org_children(tree, parent.scope_id)
        try:
            if method == "explicit":
                weights = explicit_shares(shares or {}, children)
            elif method == "even":
                weights = shares_even(children)
            else:
                start, end = previous_period(parent.period_start, parent.period_end, parent.granularity)
                actuals = await self.ctx.get(ProgressService).actuals(
                    child_scope, children, start, end, parent.metric, tree=tree
                )
                weights = shares_from_actuals(actuals)
        except FieldProblem as problem:
            raise field_error(problem.field, problem.message) from None
        if sum(weights.values(), Decimal(0)) == 0:
            weights = shares_even(children)  # explicit all-zero shares were refused above
        return child_scope, split_amount(parent.amount, weights, places_for(parent.metric, parent.amount))

    async def by_time(
        self,
        principal: Principal,
        parent: Target,
        granularity: str,
        distribution_id: UUID | None = None,
        weights: Mapping[str, Any] | None = None,
    ) -> list[Target]:
        """Split a target into quarters, months or weeks by seasonal weights or working days."""
        parts, stored = await self.time_split(parent, granularity, distribution_id, weights)
        if stored and stored != parent.weights:
            parent.weights, parent.distribution_id = stored, distribution_id
        rows = [
            draft_child(parent, parent.scope, parent.scope_id, granularity, p.start, p.end, p.amount, stored)
            for p in parts
        ]
        detail = {"dimension": "time", "granularity": granularity, "seasonal": bool(stored)}
        children = await self._replace_children(principal, parent, rows, detail)
        await self.grid.mirror(parent, children, await self.grid.org_cells(parent), replace=True)
        return children

    async def time_split(
        self,
        parent: Target,
        granularity: str,
        distribution_id: UUID | None = None,
        weights: Mapping[str, Any] | None = None,
    ) -> tuple[list[SubPeriod], dict[str, Any] | None]:
        """The periods and amounts a time breakdown would give, and the weights it would store."""
        await self._check_parent(parent)
        if await self.grid.follows_parent_unit(parent):
            raise field_error(
                "granularity",
                "this target's periods follow its parent unit's breakdown (already split the same way)",
                status_code=409,
            )
        if granularity not in FINER[parent.granularity]:
            allowed = ", ".join(FINER[parent.granularity]) or "nothing (a week is the finest)"
            raise field_error("granularity", f"a {parent.granularity} target splits into {allowed}")
        if distribution_id and weights:
            raise field_error("weights", "give a distribution_id or weights, not both")
        if distribution_id:
            weights = await self._distribution_weights(parent, distribution_id)
        stored = dict(weights) if weights else parent.weights
        try:
            month_weights = month_weights_from_json(stored) if stored else None
        except ValueError as error:
            raise field_error("weights", str(error)) from None
        tree = await OrgTree.load(self.session)
        home = await self.ctx.get(ProgressService).homes(parent.scope, [parent.scope_id], tree)
        unit = home[parent.scope_id].unit_id if parent.scope_id in home else None
        holidays = frozenset[date]()
        if unit is not None:
            holidays = (
                await load_holidays(self.session, tree, [unit], parent.period_start, parent.period_end)
            )[unit]
        parts = split_period(
            parent.amount,
            parent.period_start,
            parent.period_end,
            cast(Granularity, granularity),  # one of FINER's, checked above
            month_weights,
            holidays,
        )
        if places_for(parent.metric, parent.amount) == 0 and parent.amount:
            # Counted metrics: whole numbers by largest remainder, same proportions, never negative.
            whole = split_amount(parent.amount, {i: p.amount for i, p in enumerate(parts)}, 0)
            parts = [p._replace(amount=whole[i]) for i, p in enumerate(parts)]
        return parts, stored

    async def _check_parent(self, parent: Target) -> None:
        if parent.status == "superseded":
            raise ProblemError(
                409,
                "This target was superseded by a newer version; break that one down.",
                [{"field": "status", "message": "is superseded"}],
            )
        if parent.status in EDITABLE and parent.version > 1:
            approved = await self.session.scalar(
                select(Target.id).where(
                    Target.scope == parent.scope, Target.scope_id == parent.scope_id,
                    Target.metric == parent.metric, Target.granularity == parent.granularity,
                    Target.period_start == parent.period_start, Target.period_end == parent.period_end,
                    Target.status == "approved",
                )
            )  # fmt: skip
            has_children = approved is not None and await self.session.scalar(
                select(Target.id).where(Target.parent_id == approved, Target.status != "superseded").limit(1)
            )
            if has_children:
                raise ProblemError(
                    409,
                    "This re-plan takes over the approved version's breakdown when it is approved; "
                    "adjust that breakdown afterwards.",
                    [{"field": "status", "message": "re-plan of a broken-down target"}],
                )

    async def org_children(self, tree: OrgTree, unit_id: UUID) -> tuple[str, list[UUID]]:
        sub_units = tree.children.get(unit_id, [])
        if sub_units:
            return "org_unit", list(sub_units)
        reps = await self.session.scalars(
            select(User.id).where(User.org_unit_id == unit_id, User.role == "rep", User.active.is_(True))
            .order_by(User.name)
        )  # fmt: skip
        children = list(reps.all())
        if not children:
            raise field_error("scope_id", "this unit has no sub-units and no active reps to split over")
        return "user", children

    async def _distribution_weights(self, parent: Target, distribution_id: UUID) -> dict[str, Any]:
        distribution = await self.session.get(SeasonalDistribution, distribution_id)
        company = await self._company_of(parent)
        if distribution is None or (company is not None and distribution.company_id != company):
            raise not_found("Seasonal distribution", distribution_id, "distribution_id")
        return dict(distribution.month_weights)

    async def _company_of(self, target: Target) -> UUID | None:
        tree = await OrgTree.load(self.session)
        home = await self.ctx.get(ProgressService).homes(target.scope, [target.scope_id], tree)
        return tree.company_of(home[target.scope_id].unit_id) if target.scope_id in home else None

    async def _replace_children(
        self,
        principal: Principal,
        parent: Target,
        rows: list[Target],
        detail: dict[str, Any],
        mirror_below: bool = False,
    ) -> list[Target]:
        # The previous breakdown of the same dimension (over time: whatever its granularity, so a
        # year is split into quarters or into months, never both).
        first = rows[0]
        same_dimension = (
            (Target.scope_id == parent.scope_id)
            if first.scope_id == parent.scope_id
            else (Target.scope_id != parent.scope_id)
        )
        previous = list(
            (
                await self.session.scalars(
                    select(Target).where(
                        Target.parent_id == parent.id,
                        Target.scope == first.scope,
                        same_dimension,
                        Target.status != "superseded",
                    )
                )
            ).all()
        )
        locked = [t for t in previous if t.status not in EDITABLE]
        if locked:
            raise ProblemError(
                409,
                f"{len(locked)} children of this target are already {locked[0].status}; "
                "adjust or re-plan them instead of breaking the parent down again.",
                [{"field": "status", "message": f"children are {locked[0].status}"}],
            )
        replaced = [t.id for t in previous]
        versions = await self.ctx.get(PlansService).next_versions([target_key(r) for r in rows], replaced)
        if replaced:
            await self.session.execute(delete(Target).where(Target.id.in_(replaced)))
        for row in rows:
            row.version = versions[target_key(row)]
        self.session.add_all(rows)
        await self.session.flush()
        if mirror_below:  # the new org children take the parent's quarters, months and weeks
            await self.grid.mirror(parent, await self.grid.live_children(parent, same_scope=True), rows)
        await self.ctx.get(AuditService).record(
            principal.id,
            "target.broken_down",
            "target",
            parent.id,
            {"replaced_children": len(replaced)},
            {**detail, "children": len(rows), "sum": str(sum((r.amount for r in rows), Decimal(0)))},
        )
        return rows
