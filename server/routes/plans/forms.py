"""Plan forms: set a target, break one down, adjust one. Post/Redirect/Get; on a broken rule the
form comes back with the message next to its field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter

from server.clock import Clock
from server.core.access import Principal, Scope
from server.core.deps import require_role
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.org import OrgTree, company_id_for_unit
from server.core.services import Services
from server.core.templates import redirect, render
from server.services.plans.adjustments import AdjustmentsService
from server.services.plans.breakdown import FINER, BreakdownService
from server.services.plans.calendar import SeasonalDistributionsService
from server.services.plans.labels import plan_labels
from server.services.plans.targets import PlansService
from server.services.plans.tree import PlanTreeService, parse_period

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def problem_errors(problem: ProblemError) -> dict[str, str]:
    """{field: message} from a problem, with the detail under "form" when no field is named."""
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    errors = {e["field"]: e["message"] for e in extra.get("errors", [])}
    return errors or {"form": problem.detail}


def parse_amount(raw: str | None) -> Decimal | None:
    try:
        return Decimal((raw or "").replace(",", "").strip())
    except InvalidOperation:
        return None


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

    @get("/{target_id:uuid}/breakdown")
    async def breakdown_form(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        target_id: UUID,
    ) -> Any:
        target = await services.get(PlansService).get(access, target_id)
        return await self._render_breakdown(request, principal, services, target, {}, {})

    @post("/{target_id:uuid}/breakdown")
    async def breakdown(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        target_id: UUID,
        data: FormData,
    ) -> Any:
        target = await services.get(PlansService).get(access, target_id)
        breakdown = services.get(BreakdownService)
        try:
            if data.get("dimension") == "org":
                shares: dict[UUID, Decimal] = {}
                for key, value in data.items():
                    if key.startswith("share_"):
                        share = parse_amount(value)
                        if share is None:
                            raise ProblemError(
                                422,
                                "shares",
                                [{"field": "shares", "message": _("Every share must be a number.")}],
                            )
                        shares[UUID(key.removeprefix("share_"))] = share
                children = await breakdown.by_org(principal, target, data.get("method", "even"), shares)
            else:
                distribution = data.get("distribution_id") or None
                children = await breakdown.by_time(
                    principal,
                    target,
                    data.get("granularity", ""),
                    UUID(distribution) if distribution else None,
                )
        except ProblemError as problem:
            return await self._render_breakdown(
                request, principal, services, target, problem_errors(problem), data
            )
        message = _("Split into %(count)s draft targets.", count=len(children))
        return redirect(f"/plans/targets/{target.id}", "success", message)

    async def _render_breakdown(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        services: Services,
        target: Any,
        errors: dict[str, str],
        form: dict[str, str],
    ) -> Any:
        child_scope: str = "org_unit"
        children: list[UUID] = []
        if target.scope == "org_unit":
            try:
                tree = await OrgTree.load(services.session)
                child_scope, children = await services.get(BreakdownService).org_children(
                    tree, target.scope_id
                )
            except ProblemError:
                children = []  # no sub-units and no reps: only the time breakdown is offered
        pairs = [(child_scope, c) for c in children] + [(target.scope, target.scope_id)]
        names = await services.get(PlanTreeService).scope_names(pairs)
        distributions = []
        if principal.org_unit_id is not None:
            company = await company_id_for_unit(services.session, principal.org_unit_id)
            distributions = await services.get(SeasonalDistributionsService).list(company)
        return render(
            request,
            "plans/breakdown.html",
            status_code=422 if errors else 200,
            target=target,
            children=children,
            names=names,
            finer=FINER[target.granularity],
            distributions=distributions,
            labels=plan_labels(),
            errors=errors,
            form=form,
        )

    @get("/{target_id:uuid}/adjust")
    async def adjust_form(
        self, request: Request[Any, Any, Any], access: Scope, services: Services, target_id: UUID
    ) -> Any:
        target = await services.get(PlansService).get(access, target_id)
        return await self._render_adjust(request, services, target, {}, {})

    @post("/{target_id:uuid}/adjust")
    async def adjust(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        target_id: UUID,
        data: FormData,
    ) -> Any:
        target = await services.get(PlansService).get(access, target_id)
        amount = parse_amount(data.get("new_amount"))
        if amount is None:
            return await self._render_adjust(
                request, services, target, {"new_amount": _("Enter the new amount.")}, data
            )
        try:
            adjustment = await services.get(AdjustmentsService).request(
                principal, target, amount, data.get("reason", "")
            )
        except ProblemError as problem:
            return await self._render_adjust(request, services, target, problem_errors(problem), data)
        if adjustment.status == "applied":
            message = _("Adjusted; later periods absorbed the difference.")
        else:
            message = _("More than 15%: sent to an executive for approval.")
        return redirect(f"/plans/targets/{target.id}", "success", message)

    async def _render_adjust(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        target: Any,
        errors: dict[str, str],
        form: dict[str, str],
    ) -> Any:
        names = await services.get(PlanTreeService).scope_names([(target.scope, target.scope_id)])
        return render(
            request,
            "plans/adjust.html",
            status_code=422 if errors else 200,
            target=target,
            name=names.get(target.scope_id, ""),
            low=(target.amount * Decimal("0.85")).quantize(Decimal("0.01")),
            high=(target.amount * Decimal("1.15")).quantize(Decimal("0.01")),
            labels=plan_labels(),
            errors=errors,
            form=form,
        )


ROUTES = [PlanForms]
