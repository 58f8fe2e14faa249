"""Reps' weekly plans as JSON under /api/v1/rep-plans: write, items, submit, review, comments.

A rep writes their own plan; a manager (or anyone above) who sees the rep reviews it. Bad input
is a 4xx naming the field (items[i].field inside a list); other companies' plans are 404.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from server.core.access import Principal, Scope
from server.core.deps import require_login, require_role
from server.core.params import WEEK_PATTERN, query_choice, query_week
from server.core.services import Services
from server.db.models import User
from server.domain.rep_plans import STATUSES
from server.services.reviews.rep_plan_results import Gap, RepPlanResults
from server.services.reviews.rep_plan_views import CommentView, ItemView, PlanView, RepPlanViews
from server.services.reviews.rep_plans import ItemInput, RepPlansService

Text = Annotated[str, msgspec.Meta(max_length=4000)]
Short = Annotated[str, msgspec.Meta(max_length=300)]
Unset = msgspec.UnsetType


class ItemCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Short
    due_at: datetime | None = None
    resources: Text | None = None
    metric: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    target_value: Decimal | None = None
    result_text: Short | None = None
    customer_id: UUID | None = None
    opportunity_id: UUID | None = None
    manual_achieved: Decimal | None = None


class ItemPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change. `done` and `manual_achieved` may change in any state."""

    title: Short | Unset = msgspec.UNSET
    due_at: datetime | Unset | None = msgspec.UNSET
    resources: Text | Unset | None = msgspec.UNSET
    metric: Annotated[str, msgspec.Meta(max_length=20)] | Unset = msgspec.UNSET
    target_value: Decimal | Unset | None = msgspec.UNSET
    result_text: Short | Unset | None = msgspec.UNSET
    customer_id: UUID | Unset | None = msgspec.UNSET
    opportunity_id: UUID | Unset | None = msgspec.UNSET
    manual_achieved: Decimal | Unset | None = msgspec.UNSET
    done: bool | Unset = msgspec.UNSET


class PlanCreate(msgspec.Struct, forbid_unknown_fields=True):
    week: Annotated[str, msgspec.Meta(max_length=10, pattern=WEEK_PATTERN)] | None = (
        None  # default: this week
    )
    summary: Text | None = None
    items: Annotated[list[ItemCreate], msgspec.Meta(max_length=50)] = []


class PlanPatch(msgspec.Struct, forbid_unknown_fields=True):
    summary: Text | None = None


class ReviewBody(msgspec.Struct, forbid_unknown_fields=True):
    comment: Text | None = None


class CommentBody(msgspec.Struct, forbid_unknown_fields=True):
    body: Text
    item_id: UUID | None = None


class CommentOut(msgspec.Struct):
    id: UUID
    item_id: UUID | None
    author_id: UUID
    author_name: str
    body: str
    at: datetime


class ItemOut(msgspec.Struct):
    id: UUID
    position: int
    title: str
    due_at: datetime | None
    resources: str | None
    metric: str
    target_value: Decimal | None
    result_text: str | None
    customer_id: UUID | None
    customer_name: str | None
    opportunity_id: UUID | None
    done: bool
    done_at: datetime | None
    achieved: Decimal | None
    attainment: Decimal | None
    measured: bool
    comments: list[CommentOut]


class MonthGapOut(msgspec.Struct):
    metric: str
    target: Decimal
    actual: Decimal
    expected: Decimal
    remaining: Decimal
    status: str
    working_days_left: int
    daily_run_rate: Decimal | None


class GapOut(msgspec.Struct):
    week_plan: Decimal | None
    week_actual: Decimal
    week_remaining: Decimal | None
    months: list[MonthGapOut]


class PlanOut(msgspec.Struct):
    id: UUID
    rep_id: UUID
    rep_name: str
    week: str
    week_start: date
    status: str
    summary: str | None
    submitted_at: datetime | None
    reviewed_at: datetime | None
    reviewed_by: UUID | None
    reviewer_name: str | None
    items: list[ItemOut]
    comments: list[CommentOut]
    gap: GapOut | None = None


def _comment(view: CommentView) -> CommentOut:
    c = view.comment
    return CommentOut(c.id, c.item_id, c.author_id, view.author_name, c.body, c.at)


def _item(view: ItemView) -> ItemOut:
    i = view.item
    return ItemOut(
        i.id, i.position, i.title, i.due_at, i.resources, i.metric, i.target_value, i.result_text,
        i.customer_id, view.customer_name, i.opportunity_id, i.done_at is not None, i.done_at,
        view.achieved, view.attainment, view.measured is not None, [_comment(c) for c in view.comments],
    )  # fmt: skip


def _gap(gap: Gap) -> GapOut:
    months = [MonthGapOut(**{f: getattr(m, f) for f in MonthGapOut.__struct_fields__}) for m in gap.months]
    return GapOut(gap.week_plan, gap.week_actual, gap.week_remaining, months)


def plan_out(view: PlanView, gap: Gap | None = None) -> PlanOut:
    p = view.plan
    return PlanOut(
        p.id, p.rep_id, view.rep.name, view.iso_week, p.week_start, p.status, p.summary, p.submitted_at,
        p.reviewed_at, p.reviewed_by, view.reviewer_name, [_item(i) for i in view.items],
        [_comment(c) for c in view.comments], _gap(gap) if gap else None,
    )  # fmt: skip


def _input(data: ItemCreate) -> ItemInput:
    return ItemInput(**{name: getattr(data, name) for name in ItemCreate.__struct_fields__})


async def _full(services: Services, plan_id: UUID, access: Scope) -> PlanOut:
    plan, rep = await services.get(RepPlansService).plan_in_scope(plan_id, access)
    view = await services.get(RepPlanViews).one(plan, rep)
    today = services.clock.local_date(rep.timezone)
    gap = await services.get(RepPlanResults).gap(rep.id, rep.timezone, plan.week_start, today)
    return plan_out(view, gap)


class RepPlansApi(Controller):
    path = "/api/v1/rep-plans"
    tags = ("rep-plans",)
    guards = (require_login,)

    @get("/", summary="Weekly plans I can see (mine as a rep; my reps' as a manager)")
    async def list_plans(
        self,
        services: Services,
        access: Scope,
        rep_id: UUID | None = None,
        week: Annotated[
            str | None, Parameter(description="ISO week like 2026-W47", pattern=WEEK_PATTERN)
        ] = None,
        status: Annotated[
            str | None, Parameter(description=" | ".join(STATUSES), pattern=f"^({'|'.join(STATUSES)})$")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> list[PlanOut]:
        chosen = query_choice("status", status, STATUSES) if status else None
        views = await services.get(RepPlanViews).listing(
            access, rep_id, query_week(week), chosen, limit, offset
        )
        return [plan_out(v) for v in views]

    @post("/", guards=[require_role("rep")], summary="Write my plan for a week (a draft)")
    async def create(
        self, services: Services, principal: Principal, access: Scope, data: PlanCreate
    ) -> PlanOut:
        rep = await services.session.get_one(User, principal.id)
        week = query_week(data.week)
        plan = await services.get(RepPlansService).create(
            rep, principal, access, week, data.summary, [_input(i) for i in data.items]
        )
        return await _full(services, plan.id, access)

    @get("/{plan_id:uuid}", summary="A plan with its items, planned vs achieved, comments and the rep's gap")
    async def show(self, services: Services, access: Scope, plan_id: UUID) -> PlanOut:
        return await _full(services, plan_id, access)

    @patch("/{plan_id:uuid}", summary="Change my plan's summary (draft or changes requested)")
    async def update(
        self, services: Services, principal: Principal, access: Scope, plan_id: UUID, data: PlanPatch
    ) -> PlanOut:
        plans = services.get(RepPlansService)
        plan, _rep = await plans.plan_in_scope(plan_id, access)
        await plans.update(plan, principal, data.summary)
        return await _full(services, plan_id, access)

    @post("/{plan_id:uuid}/submit", status_code=200, summary="Send my plan to my manager")
    async def submit(self, services: Services, principal: Principal, access: Scope, plan_id: UUID) -> PlanOut:
        plans = services.get(RepPlansService)
        plan, rep = await plans.plan_in_scope(plan_id, access)
        await plans.submit(plan, rep, principal)
        return await _full(services, plan_id, access)

    @post(
        "/{plan_id:uuid}/approve",
        status_code=200,
        guards=[require_role("manager", "executive")],
        summary="Approve a submitted plan, with an optional comment",
    )
    async def approve(
        self,
        services: Services,
        principal: Principal,
        access: Scope,
        plan_id: UUID,
        data: ReviewBody | None = None,
    ) -> PlanOut:
        return await self._review(services, principal, access, plan_id, "approve", data)

    @post(
        "/{plan_id:uuid}/request-changes",
        status_code=200,
        guards=[require_role("manager", "executive")],
        summary="Send a submitted plan back to the rep; the comment says what should change",
    )
    async def request_changes(
        self,
        services: Services,
        principal: Principal,
        access: Scope,
        plan_id: UUID,
        data: ReviewBody | None = None,
    ) -> PlanOut:
        return await self._review(services, principal, access, plan_id, "request_changes", data)

    async def _review(
        self,
        services: Services,
        principal: Principal,
        access: Scope,
        plan_id: UUID,
        action: str,
        data: ReviewBody | None,
    ) -> PlanOut:
        plans = services.get(RepPlansService)
        plan, _rep = await plans.plan_in_scope(plan_id, access)
        await plans.review(plan, principal, action, data.comment if data else None)
        return await _full(services, plan_id, access)

    @post("/{plan_id:uuid}/comments", summary="Comment on a plan or one of its items")
    async def comment(
        self, services: Services, principal: Principal, access: Scope, plan_id: UUID, data: CommentBody
    ) -> CommentOut:
        plans = services.get(RepPlansService)
        plan, _rep = await plans.plan_in_scope(plan_id, access)
        row = await plans.comment(plan, principal, data.body, data.item_id)
        return CommentOut(row.id, row.item_id, row.author_id, principal.name, row.body, row.at)

    @post("/{plan_id:uuid}/items", summary="Add a to-do to my plan")
    async def add_item(
        self, services: Services, principal: Principal, access: Scope, plan_id: UUID, data: ItemCreate
    ) -> ItemOut:
        plans = services.get(RepPlansService)
        plan, rep = await plans.plan_in_scope(plan_id, access)
        item = await plans.add_item(plan, rep, principal, access, _input(data))
        return await self._item_out(services, plan_id, access, item.id)

    @patch(
        "/{plan_id:uuid}/items/{item_id:uuid}",
        summary="Change a to-do, tick it done, or enter a custom result",
    )
    async def change_item(
        self,
        services: Services,
        principal: Principal,
        access: Scope,
        plan_id: UUID,
        item_id: UUID,
        data: ItemPatch,
    ) -> ItemOut:
        plans = services.get(RepPlansService)
        plan, rep = await plans.plan_in_scope(plan_id, access)
        item = await plans.item_of(plan, item_id)
        changes: dict[str, Any] = {
            name: getattr(data, name)
            for name in ItemPatch.__struct_fields__
            if getattr(data, name) is not msgspec.UNSET
        }
        await plans.change_item(plan, rep, item, principal, access, changes)
        return await self._item_out(services, plan_id, access, item_id)

    @delete("/{plan_id:uuid}/items/{item_id:uuid}", summary="Remove a to-do from my plan")
    async def delete_item(
        self, services: Services, principal: Principal, access: Scope, plan_id: UUID, item_id: UUID
    ) -> None:
        plans = services.get(RepPlansService)
        plan, _rep = await plans.plan_in_scope(plan_id, access)
        await plans.delete_item(plan, await plans.item_of(plan, item_id), principal)

    @staticmethod
    async def _item_out(services: Services, plan_id: UUID, access: Scope, item_id: UUID) -> ItemOut:
        plan, rep = await services.get(RepPlansService).plan_in_scope(plan_id, access)
        view = await services.get(RepPlanViews).one(plan, rep)
        return _item(next(i for i in view.items if i.item.id == item_id))


ROUTES: list[Any] = [RepPlansApi]
