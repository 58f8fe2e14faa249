"""Daily tasks as pages: the card forms of the rep's Today list ("/", server/routes/system/home.py)
and a manager's view of a rep's day.

The card forms post here as HTML forms; offline, the outbox replays the same fields as JSON to
PATCH /api/v1/tasks/{id} (see server/routes/tasks/api.py), so both paths share TasksService.change.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.core.access import Principal, Scope
from server.core.deps import DateParam, require_login, require_role
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import is_fragment_request, redirect, render
from server.domain.tasks import SKIP_REASONS, TaskChange
from server.services.evidence.forms_review import FormsReviewService
from server.services.tasks.status import TaskStatusService
from server.services.tasks.tasks import KINDS, NewTask, TasksService

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _errors(problem: ProblemError) -> dict[str, str]:
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    return {e["field"]: e["message"] for e in extra.get("errors", [])} or {"form": problem.detail}


def _form_value(data: dict[str, str], name: str) -> str | None:
    return (data.get(name) or "").strip() or None


class TaskPages(Controller):
    include_in_schema = False
    guards = (require_login,)

    @post("/tasks/{task_id:uuid}/status")
    async def change_status(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        services: Services,
        access: Scope,
        task_id: UUID,
        data: FormData,
    ) -> Any:
        """The card's done/skip/snooze forms; offline, the same form replays as PATCH /api/v1/tasks/{id}."""
        tasks = services.get(TasksService)
        task = await tasks.task_in_scope(task_id, access)
        change = TaskChange(*(_form_value(data, f) for f in ("status", "reason", "note", "snooze_until")))
        back = "/" if task.rep_id == principal.id else f"/team/reps/{task.rep_id}/day?date={task.local_date}"
        try:
            await services.get(TaskStatusService).change(task, change, principal)
        except ProblemError as problem:
            if not is_fragment_request(request):
                return redirect(back, "error", problem.detail)
            task = await tasks.task_in_scope(task_id, access)
            return await self._card(
                request, tasks, task, status_code=problem.status_code, errors=_errors(problem), form=data
            )
        if not is_fragment_request(request):
            return redirect(back, "success", _("Saved."))
        return await self._card(request, tasks, task)

    async def _card(
        self,
        request: Request[Any, Any, Any],
        tasks: TasksService,
        task: Any,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        view = await tasks.day(await tasks.user(task.rep_id), task.local_date)
        item = next(i for i in view.items if i.task.id == task.id)
        return render(
            request,
            "tasks/_partials/card_update.html",
            status_code=status_code,
            item=item,
            day=view,
            errors=errors or {},
            form=form or {},
            skip_reasons=SKIP_REASONS,
            can_act=True,
        )

    @post("/plan/regenerate", guards=[require_role("rep")])
    async def regenerate_mine(self, principal: Principal, services: Services) -> Any:
        tasks = services.get(TasksService)
        await tasks.regenerate(await tasks.user(principal.id), None)
        return redirect("/", "success", _("Your plan was refreshed."))

    @post("/plan/day-off", guards=[require_role("rep")])
    async def plan_day_off(self, principal: Principal, services: Services) -> Any:
        """ "Plan my day anyway" on a weekend or holiday."""
        tasks = services.get(TasksService)
        await tasks.ensure_today(await tasks.user(principal.id), day_off_too=True)
        return redirect("/", "success", _("Your plan for today is ready."))

    @post("/tasks", guards=[require_role("rep")])
    async def add_mine(self, principal: Principal, services: Services, access: Scope, data: FormData) -> Any:
        tasks = services.get(TasksService)
        body = NewTask(
            title=_form_value(data, "title"), kind=_form_value(data, "kind"), note=_form_value(data, "note")
        )
        try:
            await tasks.add(await tasks.user(principal.id), body, principal, access)
        except ProblemError as problem:
            return redirect("/", "error", problem.detail)
        return redirect("/", "success", _("Task added."))

    @get("/team/reps/{rep_id:uuid}/day", guards=[require_role("manager", "executive")])
    async def rep_day(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        access: Scope,
        rep_id: UUID,
        date: DateParam = None,
    ) -> Any:
        return await self._rep_day(request, services, access, rep_id, date)

    async def _rep_day(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        access: Scope,
        rep_id: UUID,
        day: date | None,
        errors: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        tasks = services.get(TasksService)
        rep = await tasks.rep_in_scope(rep_id, access)
        view = await tasks.day(rep, day or tasks.local_today(rep.timezone))
        customers = await tasks.customer_choices(rep, access)
        answers = await services.get(FormsReviewService).rep_day_page(
            access, rep.id, view.local_date, rep.timezone
        )
        return render(
            request,
            "tasks/rep_day.html",
            status_code=422 if errors else 200,
            day=view,
            customers=customers,
            kinds=KINDS,
            errors=errors or {},
            form=form or {},
            visit_answers=answers,
        )

    @post("/team/reps/{rep_id:uuid}/tasks", guards=[require_role("manager", "executive")])
    async def add_for_rep(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        services: Services,
        access: Scope,
        rep_id: UUID,
        data: FormData,
    ) -> Any:
        tasks = services.get(TasksService)
        rep = await tasks.rep_in_scope(rep_id, access)
        try:
            body = NewTask(
                local_date=date.fromisoformat(data["local_date"]) if data.get("local_date") else None,
                customer_id=UUID(data["customer_id"]) if data.get("customer_id") else None,
                kind=_form_value(data, "kind"),
                title=_form_value(data, "title"),
                note=_form_value(data, "note"),
            )
        except ValueError:
            return await self._rep_day(
                request, services, access, rep_id, None, {"form": _("Check the date and customer.")}, data
            )
        try:
            task, _created = await tasks.add(rep, body, principal, access)
        except ProblemError as problem:
            return await self._rep_day(
                request, services, access, rep_id, body.local_date, _errors(problem), data
            )
        return redirect(
            f"/team/reps/{rep.id}/day?date={task.local_date}", "success", _("Added to the rep's day.")
        )

    @post("/team/reps/{rep_id:uuid}/plan/regenerate", guards=[require_role("manager", "executive")])
    async def regenerate_rep(self, services: Services, access: Scope, rep_id: UUID, data: FormData) -> Any:
        tasks = services.get(TasksService)
        rep = await tasks.rep_in_scope(rep_id, access)
        try:
            day = await tasks.regenerate(rep, date.fromisoformat(data["date"]) if data.get("date") else None)
        except (ProblemError, ValueError) as problem:
            return redirect(f"/team/reps/{rep.id}/day", "error", getattr(problem, "detail", str(problem)))
        return redirect(f"/team/reps/{rep.id}/day?date={day}", "success", _("The plan was made again."))


ROUTES = [TaskPages]
