"""Forecast pages: the target proposal an executive edits and submits for approval, and how a
forecast moved week by week."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter

from server.core.access import Principal, Scope
from server.core.deps import require_login, require_role
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect, render
from server.domain.forecast import add_months, month_key
from server.domain.forecast_chart import history_chart
from server.services.forecasts.proposals import ProposalService, ProposedTarget
from server.services.forecasts.queries import ForecastHistory, ForecastQueries, check_period
from server.services.plans.targets import PlansService
from server.services.reviews.metrics import visible_units

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _decimal(raw: str | None) -> Decimal | None:
    try:
        value = Decimal((raw or "").replace(",", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _problem_errors(problem: ProblemError) -> dict[str, str]:
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    errors = {e["field"]: e["message"] for e in extra.get("errors", [])}
    return errors or {"form": problem.detail}


class ForecastPages(Controller):
    path = "/forecasts"
    include_in_schema = False

    @get("/proposal", guards=[require_role("executive")])
    async def proposal(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        org_unit_id: UUID | None = None,
        period: str | None = None,
        growth_pct: str | None = None,
    ) -> Any:
        """Next period's targets per child from the forecast, editable, to submit for approval."""
        unit_id = org_unit_id or principal.org_unit_id
        today = services.clock.local_date(principal.timezone)
        chosen = period or add_months(month_key(today), 1)
        growth = _decimal(growth_pct) if growth_pct else Decimal(0)
        errors: dict[str, str] = {}
        total: Decimal | None = None
        parts: list[ProposedTarget] = []
        try:
            chosen = check_period(chosen)
            if growth is None or not Decimal(-100) < growth <= Decimal(1000):
                raise ProblemError(
                    422,
                    "growth",
                    [{"field": "growth_pct", "message": _("Enter a growth between -100 and 1000 %.")}],
                )
            if unit_id is None:
                raise ProblemError(422, "unit", [{"field": "org_unit_id", "message": _("Choose a unit.")}])
            await services.get(PlansService).check_scope(access, "org_unit", unit_id)
            total, parts = await services.get(ProposalService).propose(unit_id, chosen, growth)
        except ProblemError as problem:
            if problem.status_code == 404 and "scope_id" in str(problem.extra):
                raise
            errors = _problem_errors(problem)
        return await _render_proposal(
            request, services, access, unit_id, chosen, growth_pct or "0", total, parts, {}, errors
        )

    @post("/proposal", guards=[require_role("executive")])
    async def submit(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        data: FormData,
    ) -> Any:
        try:
            unit_id = UUID(data.get("org_unit_id", ""))
        except ValueError:
            return redirect("/forecasts/proposal", "error", _("Choose a unit."))
        await services.get(PlansService).check_scope(access, "org_unit", unit_id)
        period = data.get("period", "")
        amounts: dict[tuple[str, UUID], Decimal] = {}
        errors: dict[str, str] = {}
        for key, raw in data.items():
            if not key.startswith("amount-"):
                continue
            scope, _sep, raw_id = key.removeprefix("amount-").partition("-")
            value = _decimal(raw)
            try:
                child = UUID(raw_id)
            except ValueError:
                continue
            if value is None:
                errors["targets"] = _("“%(value)s” is not an amount; enter a number like 120000.", value=raw)
                continue
            amounts[(scope, child)] = value
        if not errors:
            try:
                parent, _children = await services.get(ProposalService).submit(
                    principal, access, unit_id, check_period(period), amounts
                )
            except ProblemError as problem:
                errors = _problem_errors(problem)
            else:
                return redirect(f"/plans/targets/{parent.id}", "success", _("Plan submitted for approval."))
        scope, children = await services.get(ProposalService).children(unit_id)
        parts = [
            ProposedTarget(scope, child, name, None, amounts.get((scope, child), Decimal(0)))
            for child, name in children
        ]
        return await _render_proposal(
            request, services, access, unit_id, period, data.get("growth_pct", "0"), None, parts, data, errors
        )

    @get("/history", guards=[require_login])
    async def history(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        period: str,
        scope_name: Annotated[str, QueryParameter(name="scope")] = "user",
        scope_id: UUID | None = None,
    ) -> Any:
        """How one forecast moved week by week: a chart and the table of runs."""
        scope = scope_name if scope_name in ("user", "org_unit") else "user"
        period = check_period(period)
        subject = scope_id or principal.id
        await services.get(PlansService).check_scope(access, scope, subject)
        points = await services.get(ForecastHistory).moves(scope, subject, period, "week")
        plan = await services.get(ForecastQueries).plan(scope, subject, period)
        title = _("How the forecast for %(period)s moved", period=period)
        description = _(
            "%(count)s weekly forecasts, from %(first)s to %(last)s.",
            count=len(points),
            first=f"{points[0].point:,.2f}" if points else "–",
            last=f"{points[-1].point:,.2f}" if points else "–",
        )
        chart = history_chart(
            "forecast-history",
            title,
            description,
            [(p.low, p.point, p.high, p.actual_to_date) for p in points],
            plan,
        )
        return render(
            request,
            "forecasts/history.html",
            title=title,
            points=points,
            plan=plan,
            chart=chart,
            period=period,
        )


async def _render_proposal(
    request: Request[Any, Any, Any],
    services: Services,
    access: Scope,
    unit_id: UUID | None,
    period: str,
    growth: str,
    total: Decimal | None,
    parts: list[ProposedTarget],
    form: dict[str, str],
    errors: dict[str, str],
) -> Any:
    return render(
        request,
        "forecasts/proposal.html",
        status_code=422 if errors and form else 200,
        units=await visible_units(services, access),
        unit_id=unit_id,
        period=period,
        growth=growth,
        total=total,
        parts=parts,
        form=form,
        errors=errors,
    )


ROUTES = [ForecastPages]
