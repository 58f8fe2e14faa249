"""Target proposals, the first step of the plan approval flow: next period's targets per child of
a unit from the forecast (plus the growth the executive asks for), summing exactly; then the
executive's edited amounts become a draft plan (the unit's target, broken down over the same
children) that goes through the existing submit -> approve flow.

The children are the plan breakdown's: the unit's sub-units, or its reps at the lowest level, so
the submitted draft splits exactly like a breakdown made on the plan pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select

from server.core.access import Principal, Scope
from server.core.errors import ProblemError, field_error, not_found
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import Target, User
from server.domain.apportion import apportion
from server.domain.breakdown import percent_shares
from server.domain.forecast import period_bounds
from server.services.forecasts.queries import ForecastQueries
from server.services.plans.breakdown import BreakdownService
from server.services.plans.targets import PlansService
from server.services.plans.workflow import PlanWorkflowService

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ProposedTarget:
    scope: str
    scope_id: UUID
    name: str
    forecast: Decimal | None  # the child's own forecast of the period (None: no history yet)
    amount: Decimal


class ProposalService(Service):
    async def children(self, unit_id: UUID) -> tuple[str, list[tuple[UUID, str]]]:
        """The plan breakdown's children of the unit: (scope, [(id, name)])."""
        tree = await OrgTree.load(self.session)
        scope, ids = await self.ctx.get(BreakdownService).org_children(tree, unit_id)
        if scope == "org_unit":
            return scope, [(i, tree.units[i].name) for i in ids]
        names = dict(
            (await self.session.execute(select(User.id, User.name).where(User.id.in_(ids)))).tuples().all()
        )
        return scope, [(i, names.get(i, "?")) for i in ids]

    async def propose(
        self, unit_id: UUID, period: str, growth_pct: Decimal
    ) -> tuple[Decimal, list[ProposedTarget]]:
        """The unit's forecast x (1 + growth), split over its children in proportion to their
        forecasts by largest remainder: the parts sum to the total to the cent."""
        queries = self.ctx.get(ForecastQueries)
        unit_view = await queries.latest("org_unit", unit_id, period)
        if unit_view is None:
            raise not_found("forecast for org unit", unit_id, "org_unit_id")
        total = (unit_view.row.point * (1 + growth_pct / 100)).quantize(CENT)
        if total < 0:
            raise field_error("growth_pct", "would make the proposed total negative", 422)
        scope, children = await self.children(unit_id)
        forecasts: dict[UUID, Decimal | None] = {}
        for child_id, _name in children:
            view = await queries.latest(scope, child_id, period)
            forecasts[child_id] = None if view is None else view.row.point
        weights = {child_id: max(value or Decimal(0), Decimal(0)) for child_id, value in forecasts.items()}
        if not any(weights.values()):
            raise field_error("org_unit_id", "has no children with a forecast to split over", 422)
        parts = apportion(total, weights)
        return total, [
            ProposedTarget(scope, child_id, name, forecasts[child_id], parts[child_id])
            for child_id, name in children
        ]

    async def submit(
        self,
        principal: Principal,
        access: Scope,
        unit_id: UUID,
        period: str,
        amounts: Mapping[tuple[str, UUID], Decimal],
        submit: bool = True,
    ) -> tuple[Target, list[Target]]:
        """The edited proposal as a draft plan: the unit's revenue target of the period (the sum)
        broken down over its children with exactly these amounts; submitted for approval unless
        `submit` is false. 409 when a draft or submitted plan for it exists already."""
        start, end, granularity = period_bounds(period)
        scope, children = await self.children(unit_id)
        wanted = {(scope, child_id) for child_id, _name in children}
        unknown = [f"{s}:{i}" for s, i in amounts if (s, i) not in wanted]
        missing = [f"{s}:{i}" for s, i in sorted(wanted - set(amounts), key=str)]
        if unknown or missing:
            detail = "; ".join(
                ([f"not a child of this unit: {', '.join(unknown)}"] if unknown else [])
                + ([f"missing: {', '.join(missing)}"] if missing else [])
            )
            raise ProblemError(
                422,
                f"Give one amount per child of the unit's plan breakdown ({detail}).",
                [{"field": "targets", "message": detail}],
            )
        for value in amounts.values():
            if not value.is_finite() or value < 0 or value != value.quantize(CENT):
                raise field_error("targets", "amounts must be at least 0 with at most 2 decimals", 422)
        total = sum(amounts.values(), Decimal(0))
        if total <= 0:
            raise field_error("targets", "the amounts must add up to more than zero", 422)
        plans = self.ctx.get(PlansService)
        parent = await plans.create(
            principal,
            access,
            scope="org_unit",
            scope_id=unit_id,
            metric="revenue",
            granularity=granularity,
            period_start=start,
            period_end=end,
            amount=total,
        )
        shares = percent_shares({child_id: value for (_s, child_id), value in amounts.items()})
        children_rows = await self.ctx.get(BreakdownService).by_org(principal, parent, "explicit", shares)
        if submit:
            await self.ctx.get(PlanWorkflowService).transition(principal, parent, "submit")
        return parent, children_rows
