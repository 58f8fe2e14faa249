"""`GET /api/v1/forecasts`, `/forecasts/accuracy`, `/forecasts/history`, `POST /api/v1/targets/proposal`
and `/targets/proposal/submit`."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.params import QueryParameter

from server.core.access import Principal, Scope
from server.core.deps import require_login, require_role
from server.core.errors import ProblemError, field_error
from server.core.org import OrgTree
from server.core.services import Services
from server.services.forecasts.proposals import ProposalService
from server.services.forecasts.queries import (
    ForecastHistory,
    ForecastQueries,
    ForecastView,
    accuracy_out,
    check_period,
)
from server.services.plans.targets import PlansService

EXECUTIVES = require_role("executive")

PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2]|[Qq][1-4])$"  # a month or a quarter


class ProposalIn(msgspec.Struct, forbid_unknown_fields=True):
    org_unit_id: UUID
    period: Annotated[str, msgspec.Meta(pattern=PERIOD_PATTERN)]
    growth_pct: Decimal = Decimal(0)


class ProposedTargetIn(msgspec.Struct, forbid_unknown_fields=True):
    scope: Literal["org_unit", "user"]
    scope_id: UUID
    amount: Decimal


class ProposalSubmitIn(msgspec.Struct, forbid_unknown_fields=True):
    org_unit_id: UUID
    period: Annotated[str, msgspec.Meta(pattern=PERIOD_PATTERN)]
    targets: Annotated[list[ProposedTargetIn], msgspec.Meta(min_length=1, max_length=5000)]
    submit: bool = True


def forecast_out(view: ForecastView) -> dict[str, Any]:
    row = view.row
    return {
        "scope": row.scope,
        "scope_id": row.scope_id,
        "level": row.level,
        "period": row.period,
        "forecast": row.point,
        "low": row.low,
        "high": row.high,
        "interval": 0.8,
        "actual_to_date": row.actual_to_date,
        "pipeline": row.pipeline,
        "plan": view.plan,
        "gap_to_plan": view.gap_to_plan,
        "projected_to_miss": view.projected_to_miss,
        "method": row.method,
        "as_of": row.as_of,
        "accuracy": view.accuracy,
    }


async def _visible_scope(
    principal: Principal,
    access: Scope,
    services: Services,
    scope_name: str,
    scope_id: UUID | None,
    period: str,
) -> tuple[str, UUID, str]:
    """400 naming a bad scope or period; 404 naming scope_id for one the caller may not see."""
    if scope_name not in ("user", "org_unit"):
        raise field_error("scope", "must be one of user, org_unit", 400)
    period = check_period(period)
    if scope_id is None:
        if scope_name != "user":
            raise field_error("scope_id", f"required for scope {scope_name}", 400)
        scope_id = principal.id
    await services.get(PlansService).check_scope(access, scope_name, scope_id)
    return scope_name, scope_id, period


class ForecastsApi(Controller):
    path = "/api/v1"
    tags = ("forecasts",)

    @get(
        "/forecasts",
        guards=[require_login],
        summary="Forecast (point, 80% interval) vs plan for a visible user or unit",
    )
    async def forecast(
        self,
        principal: Principal,
        access: Scope,
        services: Services,
        period: Annotated[str, QueryParameter(pattern=PERIOD_PATTERN, description="YYYY-MM or YYYY-Qn")],
        scope_name: Annotated[str, QueryParameter(name="scope", description="user | org_unit")] = "user",
        scope_id: UUID | None = None,
    ) -> dict[str, Any]:
        scope_name, scope_id, period = await _visible_scope(
            principal, access, services, scope_name, scope_id, period
        )
        view = await services.get(ForecastQueries).latest(scope_name, scope_id, period)
        if view is None:
            raise ProblemError(404, f"No forecast for this {scope_name} and period {period} yet.")
        return forecast_out(view)

    @get(
        "/forecasts/history",
        guards=[require_login],
        summary="How a forecast moved week by week (or day by day), from the stored runs",
    )
    async def history(
        self,
        principal: Principal,
        access: Scope,
        services: Services,
        period: Annotated[str, QueryParameter(pattern=PERIOD_PATTERN, description="YYYY-MM or YYYY-Qn")],
        scope_name: Annotated[str, QueryParameter(name="scope", description="user | org_unit")] = "user",
        scope_id: UUID | None = None,
        by: Annotated[
            str, QueryParameter(pattern="^(week|day)$", description="week (last run of each week) | day")
        ] = "week",
    ) -> dict[str, Any]:
        if by not in ("week", "day"):
            raise field_error("by", "must be one of week, day", 400)
        scope_name, scope_id, period = await _visible_scope(
            principal, access, services, scope_name, scope_id, period
        )
        points = await services.get(ForecastHistory).moves(scope_name, scope_id, period, by)
        return {
            "scope": scope_name,
            "scope_id": scope_id,
            "period": period,
            "by": by,
            "interval": 0.8,
            "points": [
                {
                    "as_of": p.as_of,
                    "kind": p.kind,
                    "forecast": p.point,
                    "low": p.low,
                    "high": p.high,
                    "actual_to_date": p.actual_to_date,
                    "method": p.method,
                }
                for p in points
            ],
        }

    @get(
        "/forecasts/accuracy",
        guards=[require_login],
        summary="Rolling-origin backtest of the latest refit per level and horizon",
    )
    async def accuracy(self, principal: Principal, services: Services) -> dict[str, Any]:
        tree = await OrgTree.load(services.session)
        company = tree.company_of(principal.org_unit_id)
        if company is None:
            raise ProblemError(404, "No company for this user.")
        run, rows = await services.get(ForecastQueries).accuracy(company)
        return {
            "as_of": run.as_of if run else None,
            "engine": run.engine if run else None,
            "methods": run.methods if run else {},
            "levels": [accuracy_out(row) for row in rows],
        }

    @post(
        "/targets/proposal",
        guards=[EXECUTIVES],
        status_code=200,
        summary="Next period's targets per child from the forecast",
    )
    async def proposal(self, access: Scope, services: Services, data: ProposalIn) -> dict[str, Any]:
        period = check_period(data.period)
        if not data.growth_pct.is_finite() or not Decimal(-100) < data.growth_pct <= Decimal(1000):
            raise field_error("growth_pct", "must be above -100 and at most 1000", 400)
        await services.get(PlansService).check_scope(access, "org_unit", data.org_unit_id)
        total, parts = await services.get(ProposalService).propose(data.org_unit_id, period, data.growth_pct)
        return {
            "org_unit_id": data.org_unit_id,
            "period": period,
            "growth_pct": data.growth_pct,
            "total": total,
            "targets": [
                {
                    "scope": p.scope,
                    "scope_id": p.scope_id,
                    "name": p.name,
                    "forecast": p.forecast,
                    "amount": p.amount,
                }
                for p in parts
            ],
        }

    @post(
        "/targets/proposal/submit",
        guards=[EXECUTIVES],
        summary="The edited proposal as a draft plan, submitted into the approval flow",
        description="Creates the unit's revenue target of the period (the sum of the amounts) broken "
        "down over its children with exactly these amounts; `submit: false` keeps it a draft.",
    )
    async def submit_proposal(
        self, principal: Principal, access: Scope, services: Services, data: ProposalSubmitIn
    ) -> dict[str, Any]:
        period = check_period(data.period)
        await services.get(PlansService).check_scope(access, "org_unit", data.org_unit_id)
        amounts: dict[tuple[str, UUID], Decimal] = {}
        for item in data.targets:
            if (item.scope, item.scope_id) in amounts:
                raise field_error("targets", f"{item.scope} {item.scope_id} is listed twice", 400)
            amounts[(item.scope, item.scope_id)] = item.amount
        parent, children = await services.get(ProposalService).submit(
            principal, access, data.org_unit_id, period, amounts, data.submit
        )
        return {
            "target_id": parent.id,
            "status": parent.status,
            "period": period,
            "total": parent.amount,
            "targets": [
                {
                    "target_id": c.id,
                    "scope": c.scope,
                    "scope_id": c.scope_id,
                    "amount": c.amount,
                    "status": c.status,
                }
                for c in children
            ],
        }


ROUTES = [ForecastsApi]
