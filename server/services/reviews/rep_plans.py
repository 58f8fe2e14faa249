"""Reps' weekly plans: writing them, their to-do items, and the review flow
(draft -> submitted -> approved | changes_requested), audited, with notifications both ways.

Only the rep who wrote a plan changes it; a manager, director or executive who sees the rep
reviews and comments (never on their own plan). Out of scope and missing look alike (404).
Reads (views, review, Today) are in rep_plan_views.py; planned vs achieved in rep_plan_results.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.core import i18n
from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.errors import ProblemError, field_error, not_found
from server.core.i18n import gettext as _
from server.core.org import OrgTree
from server.core.services import Service
from server.db.models import Customer, Opportunity, RepPlan, RepPlanComment, RepPlanItem, User
from server.domain.calendar import local_date
from server.domain.rep_plans import METRICS, editable, next_status, target_problem, week_of
from server.services.notifications.outbox import NotificationsService

ITEM_FIELDS = (
    "title",
    "due_at",
    "resources",
    "metric",
    "target_value",
    "result_text",
    "customer_id",
    "opportunity_id",
    "manual_achieved",
)
PROGRESS_FIELDS = ("done", "manual_achieved")  # the rep may record these in any state
MAX_FUTURE_WEEKS = 4


@dataclass
class ItemInput:
    """A new to-do item (the API's and the form's fields, already typed)."""

    title: str | None = None
    due_at: datetime | None = None
    resources: str | None = None
    metric: str | None = None
    target_value: Decimal | None = None
    result_text: str | None = None
    customer_id: UUID | None = None
    opportunity_id: UUID | None = None
    manual_achieved: Decimal | None = None

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _snapshot(row: RepPlan | RepPlanItem, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


PLAN_FIELDS = ("status", "summary", "week_start")
ITEM_SNAPSHOT = (*ITEM_FIELDS, "done_at")


class RepPlansService(Service):
    async def plan_in_scope(self, plan_id: UUID, access: Scope) -> tuple[RepPlan, User]:
        """The plan and its rep, or 404 when missing or outside the caller's view."""
        row = (
            await self.session.execute(
                select(RepPlan, User).join(User, User.id == RepPlan.rep_id).where(RepPlan.id == plan_id)
            )
        ).first()
        if row is None or not access.sees_user(row[1].id, row[1].org_unit_id):
            raise not_found("Rep plan", plan_id)
        return row[0], row[1]

    async def item_in_scope(self, item_id: UUID, access: Scope) -> tuple[RepPlan, User, RepPlanItem]:
        """An item with its plan and rep (404 when missing or out of scope)."""
        item = await self.session.get(RepPlanItem, item_id)
        if item is None:
            raise not_found("Plan item", item_id)
        plan, rep = await self.plan_in_scope(item.plan_id, access)
        return plan, rep, item

    async def item_of(self, plan: RepPlan, item_id: UUID) -> RepPlanItem:
        item = await self.session.get(RepPlanItem, item_id)
        if item is None or item.plan_id != plan.id:
            raise not_found("Plan item", item_id)
        return item

    async def create(
        self, rep: User, principal: Principal, access: Scope, week: date | None, summary: str | None,
        items: list[ItemInput],
    ) -> RepPlan:  # fmt: skip
        """A draft plan for one of the rep's weeks (default: this week in their time zone)."""
        this_week = week_of(self.clock.local_date(rep.timezone))
        week_start = week or this_week
        if week_start.weekday() != 0:
            raise field_error("week", _("must be an ISO week like 2026-W47"))
        if week_start < this_week:
            raise field_error("week", _("must not be a past week"))
        if week_start > this_week + timedelta(weeks=MAX_FUTURE_WEEKS):
            raise field_error("week", _("must be at most 4 weeks ahead"))
        existing = await self.session.scalar(
            select(RepPlan.id).where(RepPlan.rep_id == rep.id, RepPlan.week_start == week_start)
        )
        if existing is not None:
            raise ProblemError(
                409,
                _("You already have a plan for this week."),
                [{"field": "week", "message": _("already has a plan")}],
                plan_id=str(existing),
            )
        plan = RepPlan(rep_id=rep.id, week_start=week_start, status="draft", summary=_text(summary))
        checked = [
            await self._checked_item(plan, rep, access, item.values(), index)
            for index, item in enumerate(items)
        ]
        self.session.add(plan)
        try:
            await self.session.flush()
        except IntegrityError:  # a concurrent twin won the (rep, week) slot
            raise field_error("week", _("already has a plan"), 409) from None
        for position, values in enumerate(checked):
            self.session.add(RepPlanItem(plan_id=plan.id, position=position, **values))
        await self.session.flush()
        await self._audit(principal, "rep_plan.create", plan.id, None, _snapshot(plan, PLAN_FIELDS))
        return plan

    async def update(self, plan: RepPlan, principal: Principal, summary: str | None) -> RepPlan:
        self._own_editable(plan, principal)
        before = _snapshot(plan, PLAN_FIELDS)
        plan.summary = _text(summary)
        await self.session.flush()
        await self._audit(principal, "rep_plan.update", plan.id, before, _snapshot(plan, PLAN_FIELDS))
        return plan

    async def add_item(
        self, plan: RepPlan, rep: User, principal: Principal, access: Scope, data: ItemInput
    ) -> RepPlanItem:
        self._own_editable(plan, principal)
        values = await self._checked_item(plan, rep, access, data.values())
        last = await self.session.scalar(
            select(func.max(RepPlanItem.position)).where(RepPlanItem.plan_id == plan.id)
        )
        item = RepPlanItem(plan_id=plan.id, position=(last + 1) if last is not None else 0, **values)
        self.session.add(item)
        await self.session.flush()
        await self._audit(principal, "rep_plan_item.create", item.id, None, _snapshot(item, ITEM_SNAPSHOT))
        return item

    async def change_item(
        self,
        plan: RepPlan,
        rep: User,
        item: RepPlanItem,
        principal: Principal,
        access: Scope,
        changes: dict[str, Any],
    ) -> RepPlanItem:
        """A partial update; ticking done and a custom result are allowed in any state."""
        self._own(plan, principal)
        content = {k: v for k, v in changes.items() if k not in PROGRESS_FIELDS}
        if content and not editable(plan.status):
            raise ProblemError(409, _("This plan is under review or approved; its items can no longer change."),
                               [{"field": next(iter(content)), "message": _("cannot change in this state")}])  # fmt: skip
        merged = {name: getattr(item, name) for name in ITEM_FIELDS} | {
            k: v for k, v in changes.items() if k != "done"
        }
        values = await self._checked_item(plan, rep, access, merged)
        before = _snapshot(item, ITEM_SNAPSHOT)
        for name in changes:
            if name in ITEM_FIELDS:
                setattr(item, name, values[name])
        if "done" in changes and changes["done"] is not None:
            item.done_at = (item.done_at or self.clock.now()) if changes["done"] else None
        await self.session.flush()
        await self._audit(principal, "rep_plan_item.update", item.id, before, _snapshot(item, ITEM_SNAPSHOT))
        return item

    async def delete_item(self, plan: RepPlan, item: RepPlanItem, principal: Principal) -> None:
        self._own_editable(plan, principal)
        before = _snapshot(item, ITEM_SNAPSHOT)
        await self.session.delete(item)
        await self.session.flush()
        await self._audit(principal, "rep_plan_item.delete", item.id, before, None)

    async def submit(self, plan: RepPlan, rep: User, principal: Principal) -> RepPlan:
        """Send the plan to the manager above the rep (at least one to-do)."""
        self._own(plan, principal)
        count = await self.session.scalar(
            select(func.count(RepPlanItem.id)).where(RepPlanItem.plan_id == plan.id)
        )
        if not count:
            raise field_error("items", _("add at least one to-do before submitting"))
        await self._move(plan, "submit", principal)
        plan.submitted_at = self.clock.now()
        await self.session.flush()
        manager = (await OrgTree.load(self.session)).manager_above(rep.org_unit_id, skip={rep.id})
        if manager is not None:
            key = f"rep_plan:{plan.id}:submitted:{plan.submitted_at.isoformat()}"
            await self._notify(manager, plan, key, lambda: (
                _("%(rep)s submitted a weekly plan", rep=rep.name), _("Review it in the weekly review.")
            ))  # fmt: skip
        return plan

    async def review(self, plan: RepPlan, principal: Principal, action: str, comment: str | None) -> RepPlan:
        """approve | request_changes by someone who sees the rep and is not the rep."""
        if principal.id == plan.rep_id or principal.is_rep:
            raise ProblemError(403, _("Nobody reviews their own plan."))
        comment = _text(comment)
        if action == "request_changes" and not comment:
            raise field_error("comment", _("say what should change"))
        await self._move(plan, action, principal)
        plan.reviewed_at, plan.reviewed_by = self.clock.now(), principal.id
        if comment:
            await self.comment(plan, principal, comment, None, audit=False)
        await self.session.flush()
        key = f"rep_plan:{plan.id}:{action}:{plan.reviewed_at.isoformat()}"
        approved = action == "approve"
        await self._notify(plan.rep_id, plan, key, lambda: (
            _("Your weekly plan was approved") if approved else _("Your weekly plan needs changes"), comment or ""
        ))  # fmt: skip
        return plan

    async def _notify(
        self, user_id: UUID, plan: RepPlan, key: str, words: Callable[[], tuple[str, str]]
    ) -> None:
        """A notification written in the recipient's language: `words` gives (title, body)."""
        locale = await self.session.scalar(select(User.locale).where(User.id == user_id))
        token = i18n.current_locale.set(i18n.normalize(locale or "") or "en")
        try:
            heading, message = words()
        finally:
            i18n.current_locale.reset(token)
        await self.ctx.get(NotificationsService).notify(
            user_id, "rep_plan", heading, message, key, url=f"/rep-plans/{plan.id}"
        )

    async def comment(
        self,
        plan: RepPlan,
        principal: Principal,
        body: str | None,
        item_id: UUID | None,
        *,
        audit: bool = True,
    ) -> RepPlanComment:
        """A comment on the plan or on one of its items, by the rep or a reviewer."""
        text = _text(body)
        if not text:
            raise field_error("body", _("is required"))
        if item_id is not None:
            await self.item_of(plan, item_id)
        row = RepPlanComment(
            plan_id=plan.id, item_id=item_id, author_id=principal.id, body=text, at=self.clock.now()
        )
        self.session.add(row)
        await self.session.flush()
        if audit:
            after = {"item_id": item_id, "body": text}
            await self._audit(principal, "rep_plan.comment", plan.id, None, after)
        return row

    async def _move(self, plan: RepPlan, action: str, principal: Principal) -> None:
        target = next_status(action, plan.status)
        if target is None:
            raise ProblemError(
                409, _("This plan is %(status)s; it cannot be %(action)s.", status=plan.status, action=action),
                [{"field": "status", "message": _("does not allow this step")}],
            )  # fmt: skip
        before = _snapshot(plan, PLAN_FIELDS)
        plan.status = target
        await self.session.flush()
        await self._audit(principal, f"rep_plan.{action}", plan.id, before, _snapshot(plan, PLAN_FIELDS))

    async def _checked_item(
        self, plan: RepPlan, rep: User, access: Scope, values: dict[str, Any], index: int | None = None
    ) -> dict[str, Any]:
        """The item's values, or a 422 naming the first bad field (items[i].field when in a list)."""

        def bad(name: str, message: str, status: int = 422) -> ProblemError:
            return field_error(name if index is None else f"items[{index}].{name}", message, status)

        out = dict(values)
        out["title"] = _text(values.get("title"))
        if not out["title"]:
            raise bad("title", _("is required"))
        if len(out["title"]) > 300:
            raise bad("title", _("must be at most 300 characters"))
        out["metric"] = values.get("metric") or "custom"
        if out["metric"] not in METRICS:
            raise bad("metric", _("must be one of %(choices)s", choices=", ".join(METRICS)))
        problem = target_problem(out["metric"], values.get("target_value"))
        if problem:
            raise bad("target_value", _(problem))
        manual = values.get("manual_achieved")
        if manual is not None and (out["metric"] != "custom" or manual < 0):
            raise bad("manual_achieved", _("is entered by hand only for custom results, and not negative"))
        due = values.get("due_at")
        if due is not None:
            if due.tzinfo is None:
                raise bad("due_at", _("must include a time zone offset"))
            if not plan.week_start <= local_date(due, rep.timezone) <= plan.week_start + timedelta(days=6):
                raise bad("due_at", _("must fall within the plan's week"))
        for name in ("resources", "result_text"):
            out[name] = _text(values.get(name))
        if out["result_text"] and len(out["result_text"]) > 300:
            raise bad("result_text", _("must be at most 300 characters"))
        customer_id = values.get("customer_id")
        if customer_id is not None:
            customer = await self.session.get(Customer, customer_id)
            if (
                customer is None
                or customer.owner_rep_id != rep.id
                or not access.sees_customer(customer.owner_rep_id, customer.org_unit_id)
            ):
                raise not_found(
                    "Customer", customer_id, "customer_id" if index is None else f"items[{index}].customer_id"
                )
        opportunity_id = values.get("opportunity_id")
        if opportunity_id is not None:
            # The rep's own deal (as with customers): one a rep cannot see is not there for them.
            deal = await self.session.get(Opportunity, opportunity_id)
            if deal is None or deal.owner_rep_id != rep.id:
                field = "opportunity_id" if index is None else f"items[{index}].opportunity_id"
                raise not_found("Opportunity", opportunity_id, field)
        return {name: out.get(name) for name in ITEM_FIELDS}

    @staticmethod
    def _own(plan: RepPlan, principal: Principal) -> None:
        if principal.id != plan.rep_id:
            raise ProblemError(403, _("Only the rep who wrote the plan may change it."))

    def _own_editable(self, plan: RepPlan, principal: Principal) -> None:
        self._own(plan, principal)
        if not editable(plan.status):
            raise ProblemError(409, _("This plan is under review or approved; it can no longer change."),
                               [{"field": "status", "message": _("does not allow this step")}])  # fmt: skip

    async def _audit(
        self,
        principal: Principal,
        action: str,
        entity_id: UUID,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        entity = action.split(".")[0]
        await self.ctx.get(AuditService).record(principal.id, action, entity, entity_id, before, after)


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None
