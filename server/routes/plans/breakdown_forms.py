"""Breaking a target down from its page: the form, the preview (a fragment for htmx, the page
without JavaScript) and the split itself. Post/Redirect/Get; on a broken rule the form comes back
with the message next to its field."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.core.access import Principal, Scope
from server.core.deps import require_role
from server.core.domains import parse_amount
from server.core.errors import ProblemError, problem_errors
from server.core.i18n import gettext as _
from server.core.org import OrgTree, company_id_for_unit
from server.core.services import Services
from server.core.templates import redirect, render
from server.services.plans.breakdown import FINER, BreakdownService
from server.services.plans.calendar import SeasonalDistributionsService
from server.services.plans.labels import plan_labels
from server.services.plans.targets import PlansService
from server.services.plans.tree import PlanTreeService

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def parse_org_form(data: dict[str, str]) -> tuple[str, dict[UUID, Decimal] | None]:
    """Method and, for explicit shares only, the percentages (other methods ignore the boxes)."""
    method = data.get("method", "last_period")
    if method != "explicit":
        return method, None
    shares: dict[UUID, Decimal] = {}
    for key, value in data.items():
        if key.startswith("share_"):
            share = parse_amount(value)
            if share is None:
                raise ProblemError(
                    422, "shares", [{"field": "shares", "message": _("Every share must be a number.")}]
                )
            try:
                shares[UUID(key.removeprefix("share_"))] = share
            except ValueError:
                raise ProblemError(
                    422, "shares", [{"field": "shares", "message": _("Unknown child.")}]
                ) from None
    return method, shares


def parse_time_form(data: dict[str, str]) -> tuple[str, UUID | None]:
    raw = data.get("distribution_id") or None
    try:
        distribution = UUID(raw) if raw else None
    except ValueError:
        raise ProblemError(
            422, "distribution_id", [{"field": "distribution_id", "message": _("Unknown distribution.")}]
        ) from None
    return data.get("granularity", ""), distribution


class BreakdownForms(Controller):
    path = "/plans/targets"
    include_in_schema = False
    guards = (require_role("manager", "executive"),)

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
                method, shares = parse_org_form(data)
                children = await breakdown.by_org(principal, target, method, shares)
            else:
                granularity, distribution = parse_time_form(data)
                children = await breakdown.by_time(principal, target, granularity, distribution)
        except ProblemError as problem:
            return await self._render_breakdown(
                request, principal, services, target, problem_errors(problem), data
            )
        message = _("Split into %(count)s draft targets.", count=len(children))
        return redirect(f"/plans/targets/{target.id}", "success", message)

    @post("/{target_id:uuid}/breakdown/preview")
    async def breakdown_preview(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        target_id: UUID,
        data: FormData,
    ) -> Any:
        """The children a breakdown would create, nothing saved: a fragment for htmx, the form
        page with the preview without JavaScript."""
        target = await services.get(PlansService).get(access, target_id)
        breakdown = services.get(BreakdownService)
        rows: list[tuple[str, str, Any]] = []
        dimension = "org" if data.get("dimension") == "org" else "time"
        try:
            if dimension == "org":
                method, shares = parse_org_form(data)
                child_scope, amounts = await breakdown.org_split(target, method, shares)
                names = await services.get(PlanTreeService).scope_names([(child_scope, c) for c in amounts])
                rows = [(names.get(c, ""), "", amount) for c, amount in amounts.items()]
            else:
                granularity, distribution = parse_time_form(data)
                parts, _weights = await breakdown.time_split(target, granularity, distribution)
                rows = [(f"{p.start:%Y-%m-%d}", f"{p.end:%Y-%m-%d}", p.amount) for p in parts]
            errors: dict[str, str] = {}
        except ProblemError as problem:
            errors = problem_errors(problem)
        preview = {"dimension": dimension, "rows": rows, "errors": errors}
        if request.headers.get("HX-Request"):
            return render(request, "plans/_partials/breakdown_preview.html", target=target, preview=preview)
        return await self._render_breakdown(request, principal, services, target, errors, data, preview)

    async def _render_breakdown(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        services: Services,
        target: Any,
        errors: dict[str, str],
        form: dict[str, str],
        preview: dict[str, Any] | None = None,
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
            preview=preview,
            labels=plan_labels(),
            errors=errors,
            form=form,
        )


ROUTES = [BreakdownForms]
