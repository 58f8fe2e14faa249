"""Daily tasks, JSON API under /api/v1: a day's list, status changes, added tasks, regenerate."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.openapi.datastructures import ResponseSpec

from server.core.access import Principal, Scope
from server.core.deps import DateParam, require_login, require_role
from server.core.params import sent
from server.core.services import Services
from server.domain.tasks import TaskChange
from server.services.tasks.status import TaskStatusService
from server.services.tasks.tasks import DayView, NewTask, TaskItem, TasksService

Note = Annotated[str, msgspec.Meta(max_length=2000)]


class TaskPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Partial update: only the fields sent change (msgspec.UNSET: not sent). snooze_until: "HH:MM"
    later today (local), "YYYY-MM-DD" to move the task to that date, or an ISO 8601 instant."""

    status: Annotated[str, msgspec.Meta(max_length=20)] | msgspec.UnsetType | None = msgspec.UNSET
    reason: Annotated[str, msgspec.Meta(max_length=40)] | msgspec.UnsetType | None = msgspec.UNSET
    note: Note | msgspec.UnsetType | None = msgspec.UNSET
    snooze_until: Annotated[str, msgspec.Meta(max_length=40)] | msgspec.UnsetType | None = msgspec.UNSET


class TaskCreate(msgspec.Struct, forbid_unknown_fields=True):
    local_date: date | None = None
    customer_id: UUID | None = None
    kind: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=300)] | None = None
    note: Note | None = None


class CustomerBrief(msgspec.Struct):
    id: UUID
    name: str | None
    address: str | None
    lat: float | None
    lng: float | None
    grade: str | None


class TaskOut(msgspec.Struct):
    id: UUID
    rep_id: UUID
    local_date: date
    kind: str
    title: str | None
    status: str
    status_reason: str | None
    status_note: str | None
    rank: int | None
    route_order: int | None
    score: float
    reasons: list[dict[str, Any]]
    distance_m: float | None
    due_at: datetime | None
    snoozed_until: datetime | None
    source: str
    customer: CustomerBrief | None
    checkin_id: UUID | None
    carried_from_id: UUID | None
    promise_id: UUID | None
    navigate_url: str | None


class PlanOut(msgspec.Struct):
    generated_at: datetime
    algorithm: str
    stats: dict[str, Any]


class DayOut(msgspec.Struct):
    rep_id: UUID
    local_date: date
    plan: PlanOut | None
    counts: dict[str, int]
    tasks: list[TaskOut]


def task_out(item: TaskItem) -> TaskOut:
    t = item.task
    customer = None
    if t.customer_id:
        customer = CustomerBrief(
            t.customer_id, item.customer_name, item.address, item.lat, item.lng, item.grade
        )
    return TaskOut(
        t.id,
        t.rep_id,
        t.local_date,
        t.kind,
        t.title,
        t.status,
        t.status_reason,
        t.status_note,
        t.rank,
        t.route_order,
        t.score,
        t.reasons,
        t.distance_m,
        t.due_at,
        t.snoozed_until,
        t.source,
        customer,
        t.checkin_id,
        t.carried_from_id,
        t.promise_id,
        item.navigate_url,
    )


def day_out(view: DayView) -> DayOut:
    plan = PlanOut(view.plan.generated_at, view.plan.algorithm, view.plan.stats) if view.plan else None
    return DayOut(view.rep.id, view.local_date, plan, view.counts, [task_out(i) for i in view.items])


def _new_task(data: TaskCreate) -> NewTask:
    return NewTask(data.local_date, data.customer_id, data.kind, data.title, data.note)


class TasksApi(Controller):
    path = "/api/v1"
    tags = ("tasks",)
    guards = (require_login,)

    @get("/me/tasks", summary="My tasks for a date, in route order")
    async def my_tasks(self, services: Services, principal: Principal, date: DateParam = None) -> DayOut:
        tasks = services.get(TasksService)
        me = await tasks.user(principal.id)
        return day_out(await tasks.day(me, date or tasks.local_today(me.timezone)))

    @post(
        "/me/tasks",
        guards=[require_role("rep")],
        summary="Add a task to my day",
        responses={200: ResponseSpec(TaskOut, description="Already on the day: the existing task")},
    )
    async def add_my_task(
        self, services: Services, principal: Principal, access: Scope, data: TaskCreate
    ) -> Response[TaskOut]:
        tasks = services.get(TasksService)
        task, created = await tasks.add(await tasks.user(principal.id), _new_task(data), principal, access)
        return Response(task_out(await tasks.item(task)), status_code=201 if created else 200)

    @post("/me/plan/regenerate", guards=[require_role("rep")], status_code=200, summary="Re-plan my day")
    async def regenerate_mine(
        self, services: Services, principal: Principal, date: DateParam = None
    ) -> DayOut:
        tasks = services.get(TasksService)
        me = await tasks.user(principal.id)
        return day_out(await tasks.day(me, await tasks.regenerate(me, date)))

    @get("/reps/{rep_id:uuid}/tasks", summary="A rep's tasks for a date")
    async def rep_tasks(
        self, services: Services, access: Scope, rep_id: UUID, date: DateParam = None
    ) -> DayOut:
        tasks = services.get(TasksService)
        rep = await tasks.rep_in_scope(rep_id, access)
        return day_out(await tasks.day(rep, date or tasks.local_today(rep.timezone)))

    @post(
        "/reps/{rep_id:uuid}/tasks",
        guards=[require_role("manager", "executive")],
        summary="Add a task or pin a customer to a rep's day",
        responses={200: ResponseSpec(TaskOut, description="Already on the day: the existing task")},
    )
    async def add_rep_task(
        self, services: Services, principal: Principal, access: Scope, rep_id: UUID, data: TaskCreate
    ) -> Response[TaskOut]:
        tasks = services.get(TasksService)
        rep = await tasks.rep_in_scope(rep_id, access)
        task, created = await tasks.add(rep, _new_task(data), principal, access)
        return Response(task_out(await tasks.item(task)), status_code=201 if created else 200)

    @post(
        "/reps/{rep_id:uuid}/plan/regenerate",
        guards=[require_role("manager", "executive")],
        status_code=200,
        summary="Re-plan a rep's day",
    )
    async def regenerate_rep(
        self, services: Services, access: Scope, rep_id: UUID, date: DateParam = None
    ) -> DayOut:
        tasks = services.get(TasksService)
        rep = await tasks.rep_in_scope(rep_id, access)
        return day_out(await tasks.day(rep, await tasks.regenerate(rep, date)))

    @patch("/tasks/{task_id:uuid}", summary="Mark a task done, skipped (with a reason) or snoozed")
    async def update_task(
        self, services: Services, principal: Principal, access: Scope, task_id: UUID, data: TaskPatch
    ) -> TaskOut:
        tasks = services.get(TasksService)
        task = await tasks.task_in_scope(task_id, access)
        change = TaskChange(*(sent(v) for v in (data.status, data.reason, data.note, data.snooze_until)))
        changed = await services.get(TaskStatusService).change(task, change, principal)
        return task_out(await tasks.item(changed))


ROUTES = [TasksApi]
