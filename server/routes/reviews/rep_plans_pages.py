"""Reps' weekly plans as pages: the rep writes and follows their plan at /rep-plans; a reviewer
opens it from the weekly review (/reviews/weekly), where they comment, approve or send it back.
Forms post here and go back (Post/Redirect/Get) to `next` (a local path) or the plan's page;
the form's own errors re-render the plan with each message next to its field (400).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from server.core.access import Principal, Scope
from server.core.deps import require_login, require_role
from server.core.errors import ProblemError, field_error, problem_errors
from server.core.i18n import gettext as _
from server.core.params import iso_week, query_week
from server.core.services import Services
from server.core.templates import redirect, render
from server.db.models import RepPlan, User
from server.domain.rep_plans import METRICS, editable, week_of
from server.services.reviews.rep_plan_results import RepPlanResults
from server.services.reviews.rep_plan_views import RepPlanViews, customer_choices
from server.services.reviews.rep_plans import ItemInput, RepPlansService

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _value(data: dict[str, str], name: str) -> str | None:
    return (data.get(name) or "").strip() or None


def _back(data: dict[str, str], default: str, request: Request[Any, Any, Any] | None = None) -> str:
    """`next` (form field, else query string) when it is a path on this site, else the default
    (never an open redirect)."""
    target = data.get("next") or (request.query_params.get("next") if request else None) or ""
    return target if target.startswith("/") and not target.startswith("//") else default


def _decimal(data: dict[str, str], name: str) -> Decimal | None:
    raw = _value(data, name)
    if raw is None:
        return None
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        raise field_error(name, _("must be a number"), 400) from None
    if not value.is_finite():
        raise field_error(name, _("must be a number"), 400)
    return value


def _item_input(data: dict[str, str], timezone: str) -> ItemInput:
    """The item form's fields; a due time is the rep's wall-clock time (datetime-local)."""
    due = _value(data, "due_at")
    due_at = None
    if due is not None:
        try:
            due_at = datetime.fromisoformat(due).replace(tzinfo=ZoneInfo(timezone))
        except ValueError:
            raise field_error("due_at", _("must be a date and time"), 400) from None
    customer = _value(data, "customer_id")
    try:
        customer_id = UUID(customer) if customer else None
    except ValueError:
        raise field_error("customer_id", _("must be a UUID"), 400) from None
    return ItemInput(
        title=_value(data, "title"),
        due_at=due_at,
        resources=_value(data, "resources"),
        metric=_value(data, "metric"),
        target_value=_decimal(data, "target_value"),
        result_text=_value(data, "result_text"),
        customer_id=customer_id,
    )


async def _page(
    request: Request[Any, Any, Any],
    services: Services,
    principal: Principal,
    rep: User,
    plan: RepPlan | None,
    week_start: Any,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Any:
    today = services.clock.local_date(rep.timezone)
    start = plan.week_start if plan else week_start
    gap = await services.get(RepPlanResults).gap(rep.id, rep.timezone, start, today)
    view = await services.get(RepPlanViews).one(plan, rep) if plan else None
    own = principal.id == rep.id
    return render(
        request,
        "reviews/rep_plan.html",
        status_code=400 if errors else 200,
        view=view,
        rep=rep,
        gap=gap,
        week=iso_week(start),
        week_start=start,
        own=own,
        can_edit=own and (plan is None or editable(plan.status)),
        can_review=not own and not principal.is_rep and plan is not None and plan.status == "submitted",
        customers=await customer_choices(services.session, rep.id) if own else [],
        metrics=METRICS,
        errors=errors or {},
        form=form or {},
    )


class RepPlanPages(Controller):
    include_in_schema = False
    guards = (require_login,)

    @get("/rep-plans")
    async def mine(self, request: Request[Any, Any, Any], principal: Principal, services: Services) -> Any:
        """A rep's plan for a week (default this week): the plan, or the form to start it."""
        if not principal.is_rep:
            return Redirect("/reviews/weekly", status_code=303)
        rep = await services.session.get_one(User, principal.id)
        try:
            week_start = query_week(request.query_params.get("week"))
        except ProblemError as problem:
            return redirect("/rep-plans", "error", problem.detail)
        week_start = week_start or week_of(services.clock.local_date(rep.timezone))
        view = await services.get(RepPlanViews).mine(rep, week_start)
        if view is not None:
            return Redirect(f"/rep-plans/{view.plan.id}", status_code=303)
        return await _page(request, services, principal, rep, None, week_start)

    @get("/rep-plans/{plan_id:uuid}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        plan_id: UUID,
    ) -> Any:
        plan, rep = await services.get(RepPlansService).plan_in_scope(plan_id, access)
        return await _page(request, services, principal, rep, plan, plan.week_start)

    @post("/rep-plans", guards=[require_role("rep")])
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        data: FormData,
    ) -> Any:
        rep = await services.session.get_one(User, principal.id)
        try:
            week = query_week(_value(data, "week"))
            plan = await services.get(RepPlansService).create(
                rep, principal, access, week, _value(data, "summary"), []
            )
        except ProblemError as problem:
            start = week_of(services.clock.local_date(rep.timezone))
            return await _page(request, services, principal, rep, None, start, problem_errors(problem), data)
        return redirect(f"/rep-plans/{plan.id}", "success", _("Plan started. Add your to-dos."))

    @post("/rep-plans/{plan_id:uuid}")
    async def update(
        self, request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services,
        plan_id: UUID, data: FormData,
    ) -> Any:  # fmt: skip
        plans = services.get(RepPlansService)
        plan, rep = await plans.plan_in_scope(plan_id, access)
        try:
            await plans.update(plan, principal, _value(data, "summary"))
        except ProblemError as problem:
            return await _page(
                request, services, principal, rep, plan, plan.week_start, problem_errors(problem), data
            )
        return redirect(f"/rep-plans/{plan_id}", "success", _("Saved."))

    @post("/rep-plans/{plan_id:uuid}/items")
    async def add_item(
        self, request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services,
        plan_id: UUID, data: FormData,
    ) -> Any:  # fmt: skip
        plans = services.get(RepPlansService)
        plan, rep = await plans.plan_in_scope(plan_id, access)
        try:
            await plans.add_item(plan, rep, principal, access, _item_input(data, rep.timezone))
        except ProblemError as problem:
            if problem.status_code == 403:
                raise
            return await _page(
                request, services, principal, rep, plan, plan.week_start, problem_errors(problem), data
            )
        return redirect(f"/rep-plans/{plan_id}", "success", _("To-do added."))

    @post("/rep-plans/{plan_id:uuid}/items/{item_id:uuid}/delete")
    async def delete_item(
        self, principal: Principal, access: Scope, services: Services, plan_id: UUID, item_id: UUID
    ) -> Any:
        plans = services.get(RepPlansService)
        plan, _rep = await plans.plan_in_scope(plan_id, access)
        try:
            await plans.delete_item(plan, await plans.item_of(plan, item_id), principal)
        except ProblemError as problem:
            return redirect(f"/rep-plans/{plan_id}", "error", problem.detail)
        return redirect(f"/rep-plans/{plan_id}", "success", _("To-do removed."))

    @post("/rep-plans/items/{item_id:uuid}/done")
    async def tick(
        self, request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services,
        item_id: UUID, data: FormData,
    ) -> Any:  # fmt: skip
        """Tick a to-do done (done=1 or a checked box) or open again (done=0), from Today or the
        plan's page; offline, Today's tick replays as PATCH /api/v1/rep-plans/{id}/items/{item}."""
        plans = services.get(RepPlansService)
        plan, rep, item = await plans.item_in_scope(item_id, access)
        changes: dict[str, Any] = {"done": data.get("done") in ("1", "on")}
        back = _back(data, f"/rep-plans/{plan.id}", request)
        try:
            if "manual_achieved" in data:
                changes["manual_achieved"] = _decimal(data, "manual_achieved")
            await plans.change_item(plan, rep, item, principal, access, changes)
        except ProblemError as problem:
            return redirect(back, "error", problem.detail)
        return redirect(back, "success", _("Saved."))

    @post("/rep-plans/{plan_id:uuid}/{step:str}")
    async def step(
        self,
        principal: Principal,
        access: Scope,
        services: Services,
        plan_id: UUID,
        step: str,
        data: FormData,
    ) -> Any:
        """submit | approve | request-changes | comments, back to `next` or the plan."""
        plans = services.get(RepPlansService)
        plan, rep = await plans.plan_in_scope(plan_id, access)
        back = _back(data, f"/rep-plans/{plan_id}")
        messages = {
            "submit": _("Sent to your manager."),
            "approve": _("Plan approved."),
            "request-changes": _("Sent back to the rep."),
            "comments": _("Comment added."),
        }
        if step not in messages:
            return redirect(back, "error", _("Unknown step."))
        try:
            if step == "submit":
                await plans.submit(plan, rep, principal)
            elif step == "comments":
                item = _value(data, "item_id")
                await plans.comment(plan, principal, _value(data, "body"), UUID(item) if item else None)
            else:
                action = step.replace("-", "_")
                await plans.review(plan, principal, action, _value(data, "comment"))
        except (ProblemError, ValueError) as problem:
            detail = problem.detail if isinstance(problem, ProblemError) else _("must be a UUID")
            return redirect(back, "error", detail)
        return redirect(back, "success", messages[step])


ROUTES: list[Any] = [RepPlanPages]
