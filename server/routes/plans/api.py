"""Targets API: list/create/edit, breakdown, submit/approve/return, re-plan, adjustments,
seasonal distributions. Thin: parse, authorise by scope, call the plans services, render."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter, QueryParameter
from sqlalchemy import ColumnElement

from server.core.access import Principal, Scope
from server.core.csv import csv_or_json
from server.core.deps import require_login, require_role
from server.core.errors import field_error
from server.core.org import company_id_for_unit
from server.core.params import sent
from server.core.services import Services
from server.db.models import SeasonalDistribution, Target, TargetAdjustment
from server.domain.plans import SCOPES
from server.services.plans.adjustments import AdjustmentsService
from server.services.plans.breakdown import BreakdownService
from server.services.plans.calendar import SeasonalDistributionsService
from server.services.plans.notices import PlanNotices
from server.services.plans.targets import PlansService
from server.services.plans.workflow import PlanWorkflowService

ScopeName = Literal["org_unit", "user", "customer"]
Metric = Literal["revenue", "visits", "new_customers"]
Granularity = Literal["year", "quarter", "month", "week"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
MANAGERS = require_role("manager", "executive")
EXECUTIVES = require_role("executive")


class TargetIn(msgspec.Struct, forbid_unknown_fields=True):
    scope: ScopeName
    scope_id: UUID
    metric: Metric
    granularity: Granularity
    period_start: date
    amount: Decimal
    period_end: date | None = None
    weights: dict[str, Decimal] | None = None
    external_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class TargetEdit(msgspec.Struct, forbid_unknown_fields=True):
    """Partial update: only the fields sent change (msgspec.UNSET: not sent)."""

    amount: Decimal | msgspec.UnsetType | None = msgspec.UNSET
    weights: dict[str, Decimal] | msgspec.UnsetType | None = msgspec.UNSET


class BreakdownIn(msgspec.Struct, forbid_unknown_fields=True):
    dimension: Literal["org", "time"]
    method: Literal["explicit", "last_period", "even"] | None = None
    shares: dict[UUID, Decimal] | None = None
    granularity: Literal["quarter", "month", "week"] | None = None
    distribution_id: UUID | None = None
    weights: dict[str, Decimal] | None = None


class ReturnIn(msgspec.Struct, forbid_unknown_fields=True):
    comment: Reason


class ReplanIn(msgspec.Struct, forbid_unknown_fields=True):
    amount: Decimal


class AdjustmentIn(msgspec.Struct, forbid_unknown_fields=True):
    new_amount: Decimal
    reason: Reason
    # rebalance: the parent stays, the open periods left absorb; parent: the parent moves with it
    mode: Literal["rebalance", "parent"] = "rebalance"


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class DistributionIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    month_weights: dict[str, Decimal]


TARGET_COLUMNS = (
    "id", "scope", "scope_id", "metric", "granularity", "period_start", "period_end", "amount",
    "baseline_amount", "status", "version", "parent_id", "review_comment", "approved_at", "external_ref",
)  # fmt: skip
ADJUSTMENT_COLUMNS = (
    "id", "target_id", "old_amount", "new_amount", "mode", "reason", "status", "requested_by", "requested_at",
    "decided_by", "decided_at", "decision_note",
)  # fmt: skip


def target_out(target: Target) -> dict[str, Any]:
    out = {column: getattr(target, column) for column in TARGET_COLUMNS}
    return {**out, "weights": target.weights, "distribution_id": target.distribution_id}


def adjustment_out(adjustment: TargetAdjustment) -> dict[str, Any]:
    return {column: getattr(adjustment, column) for column in ADJUSTMENT_COLUMNS}


def weights_json(weights: dict[str, Decimal] | None) -> dict[str, str] | None:
    # JSON columns cannot hold Decimal; strings keep the value exact.
    return {key: str(value) for key, value in weights.items()} if weights is not None else None


def target_filters(
    scope: str | None,
    scope_id: UUID | None,
    metric: str | None,
    granularity: str | None,
    status: str | None,
    parent_id: UUID | None,
    period_from: date | None,
    period_to: date | None,
) -> list[ColumnElement[bool]]:
    wanted = {
        Target.scope: scope,
        Target.scope_id: scope_id,
        Target.metric: metric,
        Target.granularity: granularity,
        Target.status: status,
        Target.parent_id: parent_id,
    }
    filters = [column == value for column, value in wanted.items() if value is not None]
    if period_from:
        filters.append(Target.period_end >= period_from)
    if period_to:
        filters.append(Target.period_start <= period_to)
    return filters


class PlansApi(Controller):
    path = "/api/v1"
    tags = ("plans",)
    guards = (require_login,)

    @get("/targets", summary="Targets in the caller's scope (CSV with ?format=csv or Accept: text/csv)")
    async def list_targets(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        access: Scope,
        scope_name: Annotated[
            str | None, QueryParameter(name="scope", description="org_unit | user | customer")
        ] = None,
        scope_id: UUID | None = None,
        metric: Metric | None = None,
        granularity: Granularity | None = None,
        status: Literal["draft", "submitted", "approved", "returned", "superseded"] | None = None,
        parent_id: UUID | None = None,
        period_from: Annotated[date | None, QueryParameter(name="from")] = None,
        period_to: Annotated[date | None, QueryParameter(name="to")] = None,
        limit: Annotated[int, Parameter(ge=1, le=5000)] = 500,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000_000)] = 0,
        output: Annotated[Literal["json", "csv"] | None, QueryParameter(name="format")] = None,
    ) -> Response[Any]:
        if scope_name is not None and scope_name not in SCOPES:
            raise field_error("scope", f"must be one of {', '.join(SCOPES)}", 400)
        filters = target_filters(
            scope_name, scope_id, metric, granularity, status, parent_id, period_from, period_to
        )
        targets = await services.get(PlansService).list(access, filters, limit, offset)
        return csv_or_json(request, output, "targets", TARGET_COLUMNS, [target_out(t) for t in targets])

    @post("/targets", guards=[MANAGERS], summary="Create a draft target in the caller's scope")
    async def create_target(
        self, principal: Principal, access: Scope, services: Services, data: TargetIn
    ) -> dict[str, Any]:
        fields = msgspec.structs.asdict(data) | {"weights": weights_json(data.weights)}
        return target_out(await services.get(PlansService).create(principal, access, **fields))

    @get("/targets/{target_id:uuid}", summary="One target")
    async def get_target(self, access: Scope, services: Services, target_id: UUID) -> dict[str, Any]:
        return target_out(await services.get(PlansService).get(access, target_id))

    @patch("/targets/{target_id:uuid}", guards=[MANAGERS], summary="Edit a draft or returned target")
    async def edit_target(
        self, principal: Principal, access: Scope, services: Services, target_id: UUID, data: TargetEdit
    ) -> dict[str, Any]:
        plans = services.get(PlansService)
        target = await plans.get(access, target_id)
        return target_out(
            await plans.edit(principal, target, sent(data.amount), weights_json(sent(data.weights)))
        )

    @post("/targets/{target_id:uuid}/breakdown", guards=[MANAGERS], summary="Split a target into children")
    async def breakdown(
        self, principal: Principal, access: Scope, services: Services, target_id: UUID, data: BreakdownIn
    ) -> dict[str, Any]:
        parent = await services.get(PlansService).get(access, target_id)
        breakdown = services.get(BreakdownService)
        if data.dimension == "org":
            if data.method is None:
                raise field_error("method", "required for an org breakdown: explicit, last_period or even")
            children = await breakdown.by_org(principal, parent, data.method, data.shares)
        else:
            if data.granularity is None:
                raise field_error("granularity", "required for a time breakdown: quarter, month or week")
            children = await breakdown.by_time(
                principal, parent, data.granularity, data.distribution_id, weights_json(data.weights)
            )
        return {"parent": target_out(parent), "children": [target_out(c) for c in children]}

    @post("/targets/{target_id:uuid}/submit", status_code=200, guards=[MANAGERS], summary="Submit a plan")
    async def submit(self, principal: Principal, access: Scope, services: Services, target_id: UUID) -> Any:
        return await _transition(principal, access, services, target_id, "submit")

    @post("/targets/{target_id:uuid}/approve", status_code=200, guards=[EXECUTIVES], summary="Approve a plan")
    async def approve(self, principal: Principal, access: Scope, services: Services, target_id: UUID) -> Any:
        return await _transition(principal, access, services, target_id, "approve")

    @post("/targets/{target_id:uuid}/return", status_code=200, guards=[EXECUTIVES], summary="Return a plan")
    async def return_plan(
        self, principal: Principal, access: Scope, services: Services, target_id: UUID, data: ReturnIn
    ) -> Any:
        return await _transition(principal, access, services, target_id, "return", data.comment)

    @post("/targets/{target_id:uuid}/replan", guards=[MANAGERS], summary="New draft version of a target")
    async def replan(
        self, principal: Principal, access: Scope, services: Services, target_id: UUID, data: ReplanIn
    ) -> dict[str, Any]:
        plans = services.get(PlansService)
        target = await plans.get(access, target_id)
        return target_out(await plans.replan(principal, access, target, data.amount))

    @post("/targets/{target_id:uuid}/adjustments", guards=[MANAGERS], summary="Adjust an approved target")
    async def adjust(
        self, principal: Principal, access: Scope, services: Services, target_id: UUID, data: AdjustmentIn
    ) -> dict[str, Any]:
        target = await services.get(PlansService).get(access, target_id)
        adjustment = await services.get(AdjustmentsService).request(
            principal, target, data.new_amount, data.reason, data.mode
        )
        await services.get(PlanNotices).adjustment_requested(principal, adjustment, target)
        return {"adjustment": adjustment_out(adjustment), "target": target_out(target)}

    @get("/adjustments", summary="Adjustments of targets in scope (CSV with ?format=csv)")
    async def list_adjustments(
        self,
        request: Request[Any, Any, Any],
        access: Scope,
        services: Services,
        status: Literal["applied", "pending", "approved", "rejected"] | None = None,
        target_id: UUID | None = None,
        limit: Annotated[int, Parameter(ge=1, le=5000)] = 500,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000_000)] = 0,
        output: Annotated[Literal["json", "csv"] | None, QueryParameter(name="format")] = None,
    ) -> Response[Any]:
        filters = [
            c == v
            for c, v in ((TargetAdjustment.status, status), (TargetAdjustment.target_id, target_id))
            if v
        ]
        rows = await services.get(AdjustmentsService).list(access, filters, limit, offset)
        return csv_or_json(
            request, output, "adjustments", ADJUSTMENT_COLUMNS, [adjustment_out(a) for a, _ in rows]
        )

    @post("/adjustments/{adjustment_id:uuid}/approve", status_code=200, guards=[EXECUTIVES])
    async def approve_adjustment(
        self,
        principal: Principal,
        access: Scope,
        services: Services,
        adjustment_id: UUID,
        data: DecisionIn | None = None,
    ) -> dict[str, Any]:
        return await _decide(principal, access, services, adjustment_id, True, data)

    @post("/adjustments/{adjustment_id:uuid}/reject", status_code=200, guards=[EXECUTIVES])
    async def reject_adjustment(
        self,
        principal: Principal,
        access: Scope,
        services: Services,
        adjustment_id: UUID,
        data: DecisionIn | None = None,
    ) -> dict[str, Any]:
        return await _decide(principal, access, services, adjustment_id, False, data)

    @get("/seasonal-distributions", summary="The company's seasonal distributions")
    async def list_distributions(self, principal: Principal, services: Services) -> list[dict[str, Any]]:
        if principal.org_unit_id is None:
            return []
        company = await company_id_for_unit(services.session, principal.org_unit_id)
        return [distribution_out(d) for d in await services.get(SeasonalDistributionsService).list(company)]

    @post("/seasonal-distributions", guards=[EXECUTIVES], summary="Create a seasonal distribution")
    async def create_distribution(
        self, principal: Principal, services: Services, data: DistributionIn
    ) -> dict[str, Any]:
        if principal.org_unit_id is None:
            raise field_error("company", "your account belongs to no organisation")
        company = await company_id_for_unit(services.session, principal.org_unit_id)
        created = await services.get(SeasonalDistributionsService).create(
            principal.id, company, data.name, data.month_weights
        )
        return distribution_out(created)


def distribution_out(distribution: SeasonalDistribution) -> dict[str, Any]:
    return {"id": distribution.id, "name": distribution.name, "month_weights": distribution.month_weights}


async def _transition(
    principal: Principal,
    access: Scope,
    services: Services,
    target_id: UUID,
    action: str,
    comment: str | None = None,
) -> dict[str, Any]:
    plans = services.get(PlansService)
    target = await plans.get(access, target_id)
    moved = await services.get(PlanWorkflowService).transition(principal, target, action, comment)
    await services.get(PlanNotices).plan_moved(principal, target, action, comment)
    return {"target": target_out(target), "moved": len(moved)}


async def _decide(
    principal: Principal, access: Scope, services: Services, adjustment_id: UUID, approve: bool, data: Any
) -> dict[str, Any]:
    adjustments = services.get(AdjustmentsService)
    adjustment = await adjustments.get(access, adjustment_id)
    decided = await adjustments.decide(principal, adjustment, approve, data.note if data else None)
    target = await services.get(PlansService).get(access, decided.target_id)
    await services.get(PlanNotices).adjustment_decided(principal, decided, target)
    return {"adjustment": adjustment_out(decided)}


ROUTES = [PlansApi]
