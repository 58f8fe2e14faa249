"""Plan forms: set a target, adjust, edit or re-plan one, compare versions (breaking one down:
breakdown_forms.py). Post/Redirect/Get; on a broken rule the form comes back with the message
next to its field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter

from server.clock import Clock
from server.core.access import Principal, Scope
from server.core.deps import require_role
from server.core.domains import parse_amount
from server.core.errors import ProblemError, problem_errors
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect, render
from server.services.plans.adjustments import AdjustmentsService
from server.services.plans.labels import plan_labels
from server.services.plans.notices import PlanNotices
from server.services.plans.targets import PlansService
from server.services.plans.tree import PlanTreeService, parse_period
from server.services.plans.versions import PlanVersionsService

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class PlanForms(Controller):
    path = "/plans/targets"
    include_in_schema = False
    guards = (require_role("manager", "executive"),)

    @get("/new")
    async def new_form(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        clock: Clock,
        scope_id: UUID,
        scope_kind: Annotated[str, QueryParameter(name="scope")] = "org_unit",
        period: str | None = None,
        metric: str = "revenue",
    ) -> Any:
        await services.get(PlansService).check_scope(access, scope_kind, scope_id)
        return await self._render_new(
            request, services, clock, principal, scope_kind, scope_id, period, metric, {}, {}
        )

    @post("/new")
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        clock: Clock,
        data: FormData,
    ) -> Any:
        scope, raw_id, metric = data.get("scope", ""), data.get("scope_id", ""), data.get("metric", "revenue")
        try:
            scope_id = UUID(raw_id)
        except ValueError:
            return redirect("/plans", "error", _("That unit or person no longer exists."))
        # Out of scope is "not found" before anything is shown (not even the scope's name).
        await services.get(PlansService).check_scope(access, scope, scope_id)
        period = parse_period(data.get("period"), clock.local_date(principal.timezone))
        amount = parse_amount(data.get("amount"))
        if amount is None:
            errors = {"amount": _("Enter an amount, e.g. 120000.")}
            return await self._render_new(
                request, services, clock, principal, scope, scope_id, period.key, metric, errors, data
            )
        try:
            target = await services.get(PlansService).create(
                principal,
                access,
                scope=scope,
                scope_id=scope_id,
                metric=metric,
                granularity=period.granularity,
                period_start=period.start,
                period_end=period.end,
                amount=amount,
            )
        except ProblemError as problem:
            errors = problem_errors(problem)
            return await self._render_new(
                request, services, clock, principal, scope, scope_id, period.key, metric, errors, data
            )
        return redirect(f"/plans/targets/{target.id}", "success", _("Draft target saved."))

    async def _render_new(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        clock: Clock,
        principal: Principal,
        scope: str,
        scope_id: UUID,
        period: str | None,
        metric: str,
        errors: dict[str, str],
        form: dict[str, str],
    ) -> Any:
        names = await services.get(PlanTreeService).scope_names([(scope, scope_id)])
        return render(
            request,
            "plans/new.html",
            status_code=422 if errors else 200,
            scope=scope,
            scope_id=scope_id,
            scope_label=names.get(scope_id, ""),
            period=parse_period(period, clock.local_date(principal.timezone)),
            metric=metric,
            labels=plan_labels(),
            errors=errors,
            form=form,
        )

    @get("/{target_id:uuid}/adjust")
    async def adjust_form(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        clock: Clock,
        target_id: UUID,
    ) -> Any:
        target = await services.get(PlansService).get(access, target_id)
        today = clock.local_date(principal.timezone)
        return await self._render_adjust(request, services, target, today, {}, {})

    @post("/{target_id:uuid}/adjust")
    async def adjust(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        clock: Clock,
        target_id: UUID,
        data: FormData,
    ) -> Any:
        target = await services.get(PlansService).get(access, target_id)
        today = clock.local_date(principal.timezone)
        amount = parse_amount(data.get("new_amount"))
        if amount is None:
            return await self._render_adjust(
                request, services, target, today, {"new_amount": _("Enter the new amount.")}, data
            )
        try:
            adjustment = await services.get(AdjustmentsService).request(
                principal, target, amount, data.get("reason", ""), data.get("mode", "rebalance")
            )
        except ProblemError as problem:
            return await self._render_adjust(request, services, target, today, problem_errors(problem), data)
        await services.get(PlanNotices).adjustment_requested(principal, adjustment, target)
        if adjustment.status == "applied":
            message = _("Adjusted; the plan still adds up.")
        else:
            message = _("More than 15%: sent to an executive for approval.")
        return redirect(f"/plans/targets/{target.id}", "success", message)

    @post("/{target_id:uuid}/edit")
    async def edit(
        self, principal: Principal, access: Scope, services: Services, target_id: UUID, data: FormData
    ) -> Any:
        """Fix a draft or returned plan's amount (the executive's comment stays on the page)."""
        plans = services.get(PlansService)
        target = await plans.get(access, target_id)
        amount = parse_amount(data.get("amount"))
        back = f"/plans/targets/{target.id}"
        if amount is None:
            return redirect(back, "error", _("Enter the new amount."))
        try:
            await plans.edit(principal, target, amount, None)
        except ProblemError as problem:
            await services.session.rollback()
            return redirect(back, "error", problem.detail)
        return redirect(back, "success", _("Saved. Submit it again when it is ready."))

    @post("/{target_id:uuid}/replan")
    async def replan(
        self, principal: Principal, access: Scope, services: Services, target_id: UUID, data: FormData
    ) -> Any:
        """A new draft version of an approved plan, to submit; the old one holds until approved."""
        plans = services.get(PlansService)
        target = await plans.get(access, target_id)
        amount = parse_amount(data.get("amount"))
        if amount is None:
            return redirect(f"/plans/targets/{target.id}", "error", _("Enter the new amount."))
        try:
            draft = await plans.replan(principal, access, target, amount)
        except ProblemError as problem:
            await services.session.rollback()
            return redirect(f"/plans/targets/{target.id}", "error", problem.detail)
        return redirect(
            f"/plans/targets/{draft.id}/compare?with={target.id}",
            "success",
            _("New version drafted: compare it, break it down, then submit it."),
        )

    @get("/{target_id:uuid}/compare")
    async def compare(
        self,
        request: Request[Any, Any, Any],
        access: Scope,
        services: Services,
        target_id: UUID,
        other: Annotated[UUID, QueryParameter(name="with")],
    ) -> Any:
        """Two versions side by side: old, new and the change, in total and per child."""
        comparison = await services.get(PlanVersionsService).compare(access, other, target_id)
        return render(request, "plans/compare.html", comparison=comparison, labels=plan_labels())

    async def _render_adjust(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        target: Any,
        today: date,
        errors: dict[str, str],
        form: dict[str, str],
    ) -> Any:
        names = await services.get(PlanTreeService).scope_names([(target.scope, target.scope_id)])
        baseline = target.baseline_amount if target.baseline_amount is not None else target.amount
        allowance = baseline * Decimal("0.15")
        return render(
            request,
            "plans/adjust.html",
            status_code=422 if errors else 200,
            target=target,
            name=names.get(target.scope_id, ""),
            baseline=baseline,
            low=max(Decimal(0), baseline - allowance).quantize(Decimal("0.01")),
            high=(baseline + allowance).quantize(Decimal("0.01")),
            closed=target.period_end < today,
            labels=plan_labels(),
            errors=errors,
            form=form,
        )


ROUTES = [PlanForms]
