"""Plan pages: the plan tree (units expand with htmx), a target's page with its actions, and the
executives' approval queue. Forms that create, break down and adjust are in plans_forms.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.clock import Clock
from server.core.access import Principal, Scope
from server.core.deps import require_role
from server.core.errors import ProblemError, not_found
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect, render
from server.db.models import Target, TargetAdjustment
from server.domain.charts import progress_bar
from server.services.plans.adjustments import AdjustmentsService
from server.services.plans.labels import plan_labels
from server.services.plans.notices import PlanNotices
from server.services.plans.progress import ProgressService
from server.services.plans.targets import PlansService
from server.services.plans.tree import PlanTreeService, parse_period, period_choices
from server.services.plans.workflow import PlanWorkflowService

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
METRICS = ("revenue", "visits", "new_customers")


class PlansPages(Controller):
    path = "/plans"
    include_in_schema = False
    guards = (require_role("manager", "executive"),)

    @get("/")
    async def tree(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        clock: Clock,
        period: str | None = None,
        metric: str = "revenue",
    ) -> Any:
        today = clock.local_date(principal.timezone)
        chosen = parse_period(period, today)
        metric = metric if metric in METRICS else "revenue"
        nodes, children = [], []
        if principal.org_unit_id is not None:
            trees = services.get(PlanTreeService)
            nodes = await trees.nodes(access, principal.org_unit_id, chosen, metric, today, include_self=True)
            children = await trees.nodes(access, principal.org_unit_id, chosen, metric, today)
        return render(
            request,
            "plans/index.html",
            root=nodes[0] if nodes else None,
            nodes=children,
            period=chosen,
            metric=metric,
            choices=period_choices(today.year) + period_choices(today.year + 1),
            labels=plan_labels(),
            is_executive=principal.is_executive,
        )

    @get("/nodes/{unit_id:uuid}")
    async def nodes(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        clock: Clock,
        unit_id: UUID,
        period: str | None = None,
        metric: str = "revenue",
    ) -> Any:
        """One unit's sub-units and reps (the htmx expansion of a tree node)."""
        if not access.sees_unit(unit_id):
            raise not_found("Org unit", unit_id)
        today = clock.local_date(principal.timezone)
        chosen = parse_period(period, today)
        metric = metric if metric in METRICS else "revenue"
        children = await services.get(PlanTreeService).nodes(access, unit_id, chosen, metric, today)
        return render(
            request, "plans/nodes.html", nodes=children, period=chosen, metric=metric, labels=plan_labels()
        )

    @get("/targets/{target_id:uuid}")
    async def target(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        clock: Clock,
        target_id: UUID,
    ) -> Any:
        target = await services.get(PlansService).get(access, target_id)
        trees = services.get(PlanTreeService)
        children = await services.get(PlansService).list(access, [Target.parent_id == target.id], 1000, 0)
        versions = await services.get(PlansService).list(
            access,
            [
                Target.scope_id == target.scope_id,
                Target.metric == target.metric,
                Target.granularity == target.granularity,
                Target.period_start == target.period_start,
            ],
            50,
            0,
        )
        adjustments = await services.get(AdjustmentsService).list(
            access, [TargetAdjustment.target_id == target.id], 100, 0
        )
        names = await trees.scope_names([(t.scope, t.scope_id) for t in [target, *children]])
        progress = None
        if target.status == "approved":
            as_of = min(max(clock.local_date(principal.timezone), target.period_start), target.period_end)
            found = await services.get(ProgressService).for_one(
                target.scope, target.scope_id, as_of, target.metric, target.granularity
            )
            progress = found if found and found.target_id == target.id else None
        return render(
            request,
            "plans/target.html",
            target=target,
            children=children,
            versions=versions,
            adjustments=[a for a, _ in adjustments],
            names=names,
            progress=progress,
            bar=progress_bar(progress.target, progress.actual, progress.progress.expected_to_date)
            if progress
            else None,
            labels=plan_labels(),
            is_executive=principal.is_executive,
        )

    @post("/targets/{target_id:uuid}/{action:str}")
    async def act(
        self,
        principal: Principal,
        access: Scope,
        services: Services,
        target_id: UUID,
        action: Literal["submit", "approve", "return"],
        data: FormData,
    ) -> Any:
        """Submit (managers), approve or return (executives) from the target page or the queue."""
        asked = data.get("next") or ""
        back = asked if asked.startswith("/plans") else f"/plans/targets/{target_id}"
        if action != "submit" and not principal.is_executive:
            return redirect(back, "error", _("Only an executive approves or returns a plan."))
        plans = services.get(PlansService)
        target = await plans.get(access, target_id)
        try:
            moved = await services.get(PlanWorkflowService).transition(
                principal, target, action, data.get("comment")
            )
        except ProblemError as problem:
            return redirect(back, "error", problem.detail)
        await services.get(PlanNotices).plan_moved(principal, target, action, data.get("comment"))
        done = {"submit": _("Submitted"), "approve": _("Approved"), "return": _("Returned")}[action]
        return redirect(back, "success", _("%(done)s: %(count)s target(s).", done=done, count=len(moved)))

    @get("/approvals", guards=[require_role("executive")])
    async def approvals(self, request: Request[Any, Any, Any], access: Scope, services: Services) -> Any:
        """Submitted plans (their top target) and adjustments waiting for a decision."""
        plans, trees = services.get(PlansService), services.get(PlanTreeService)
        submitted = await plans.list(access, [Target.status == "submitted"], 1000, 0)
        submitted_ids = {t.id for t in submitted}
        roots = [t for t in submitted if t.parent_id not in submitted_ids]
        pending = await services.get(AdjustmentsService).list(
            access, [TargetAdjustment.status == "pending"], 500, 0
        )
        names = await trees.scope_names(
            [(t.scope, t.scope_id) for t in roots] + [(t.scope, t.scope_id) for _, t in pending]
        )
        counts = await trees.child_counts([t.id for t in roots])
        return render(
            request,
            "plans/approvals.html",
            roots=roots,
            pending=pending,
            names=names,
            counts=counts,
            labels=plan_labels(),
        )

    @post("/adjustments/{adjustment_id:uuid}/{decision:str}", guards=[require_role("executive")])
    async def decide(
        self,
        principal: Principal,
        access: Scope,
        services: Services,
        adjustment_id: UUID,
        decision: Literal["approve", "reject"],
        data: FormData,
    ) -> Any:
        adjustments = services.get(AdjustmentsService)
        adjustment = await adjustments.get(access, adjustment_id)
        try:
            await adjustments.decide(principal, adjustment, decision == "approve", data.get("note"))
        except ProblemError as problem:
            return redirect("/plans/approvals", "error", problem.detail)
        target = await services.get(PlansService).get(access, adjustment.target_id)
        await services.get(PlanNotices).adjustment_decided(principal, adjustment, target)
        message = (
            _("Adjustment approved and applied.") if decision == "approve" else _("Adjustment rejected.")
        )
        return redirect("/plans/approvals", "success", message)


ROUTES = [PlansPages]
