"""Reading reps' weekly plans: a plan with its items, comments and planned vs achieved; the plans
of a weekly review; a rep's list; and the to-dos due on a rep's Today.

Every read is a fixed handful of queries for any number of plans (plans, items, comments,
names, one measurement per metric), never a query per item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.access import Scope
from server.core.services import Service
from server.db.models import Customer, RepPlan, RepPlanComment, RepPlanItem, User
from server.domain.calendar import local_date
from server.domain.rep_plans import achieved, attainment, week_of
from server.services.reviews.rep_plan_results import Measured, RepPlanResults


@dataclass(frozen=True)
class CommentView:
    comment: RepPlanComment
    author_name: str


@dataclass
class ItemView:
    item: RepPlanItem
    customer_name: str | None
    measured: Decimal | None  # from the actuals; None for custom
    comments: list[CommentView] = field(default_factory=list)

    @property
    def achieved(self) -> Decimal | None:
        return achieved(self.item.metric, self.measured, self.item.manual_achieved)

    @property
    def attainment(self) -> Decimal | None:
        return attainment(self.achieved, self.item.target_value)


@dataclass
class PlanView:
    plan: RepPlan
    rep: User
    items: list[ItemView] = field(default_factory=list)
    comments: list[CommentView] = field(default_factory=list)  # on the plan as a whole
    reviewer_name: str | None = None

    @property
    def iso_week(self) -> str:
        year, week, _ = self.plan.week_start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def week_end(self) -> date:
        return self.plan.week_start + timedelta(days=6)


@dataclass(frozen=True)
class DueItem:
    """A to-do of the rep's plan on their Today: due today, or earlier and still open."""

    item: RepPlanItem
    plan_id: UUID
    customer_name: str | None
    due_on: date
    overdue: bool


class RepPlanViews(Service):
    async def views(self, rows: Sequence[tuple[RepPlan, User]]) -> list[PlanView]:
        """Each plan with its items, comments and measured results (in the order given)."""
        if not rows:
            return []
        plan_ids = [plan.id for plan, _ in rows]
        items = list(
            (
                await self.session.scalars(
                    select(RepPlanItem)
                    .where(RepPlanItem.plan_id.in_(plan_ids))
                    .order_by(RepPlanItem.plan_id, RepPlanItem.position, RepPlanItem.created_at)
                )
            ).all()
        )
        comments = list(
            (
                await self.session.scalars(
                    select(RepPlanComment)
                    .where(RepPlanComment.plan_id.in_(plan_ids))
                    .order_by(RepPlanComment.at, RepPlanComment.id)
                )
            ).all()
        )
        people = {c.author_id for c in comments} | {p.reviewed_by for p, _ in rows if p.reviewed_by}
        names = await self._names(User, people)
        customers = await self._names(Customer, {i.customer_id for i in items if i.customer_id})
        measured = await self.ctx.get(RepPlanResults).measured([(p, u.timezone) for p, u in rows], items)
        by_item: dict[UUID, list[CommentView]] = defaultdict(list)
        by_plan: dict[UUID, list[CommentView]] = defaultdict(list)
        for comment in comments:
            view = CommentView(comment, names.get(comment.author_id, ""))
            (by_item[comment.item_id] if comment.item_id else by_plan[comment.plan_id]).append(view)
        items_of: dict[UUID, list[ItemView]] = defaultdict(list)
        plan_rep = {plan.id: plan.rep_id for plan, _ in rows}
        for item in items:
            value = _measured(measured, item, plan_rep[item.plan_id])
            name = customers.get(item.customer_id) if item.customer_id else None
            items_of[item.plan_id].append(ItemView(item, name, value, by_item.get(item.id, [])))
        return [
            PlanView(
                plan,
                rep,
                items_of.get(plan.id, []),
                by_plan.get(plan.id, []),
                names.get(plan.reviewed_by) if plan.reviewed_by else None,
            )
            for plan, rep in rows
        ]

    async def one(self, plan: RepPlan, rep: User) -> PlanView:
        return (await self.views([(plan, rep)]))[0]

    async def listing(
        self,
        access: Scope,
        rep_id: UUID | None,
        week_start: date | None,
        status: str | None,
        limit: int,
        offset: int,
    ) -> list[PlanView]:
        """Plans the caller sees, newest week first, then by rep name."""
        statement = (
            select(RepPlan, User)
            .join(User, User.id == RepPlan.rep_id)
            .where(access.user_clause(RepPlan.rep_id))
            .order_by(RepPlan.week_start.desc(), User.name, RepPlan.id)
            .limit(limit)
            .offset(offset)
        )
        if rep_id is not None:
            statement = statement.where(RepPlan.rep_id == rep_id)
        if week_start is not None:
            statement = statement.where(RepPlan.week_start == week_start)
        if status is not None:
            statement = statement.where(RepPlan.status == status)
        rows = [(plan, user) for plan, user in (await self.session.execute(statement)).all()]
        return await self.views(rows)

    async def for_review(self, rep_ids: Sequence[UUID], week_start: date) -> list[PlanView]:
        """The plans of the review's reps for its week (reps without one are absent)."""
        if not rep_ids:
            return []
        rows = (
            await self.session.execute(
                select(RepPlan, User)
                .join(User, User.id == RepPlan.rep_id)
                .where(RepPlan.rep_id.in_(list(rep_ids)), RepPlan.week_start == week_start)
                .order_by(User.name, RepPlan.id)
            )
        ).all()
        return await self.views([(plan, user) for plan, user in rows])

    async def mine(self, rep: User, week_start: date) -> PlanView | None:
        plan = await self.session.scalar(
            select(RepPlan).where(RepPlan.rep_id == rep.id, RepPlan.week_start == week_start)
        )
        return await self.one(plan, rep) if plan else None

    async def due_today(self, rep_id: UUID, timezone: str, today: date) -> list[DueItem]:
        """To-dos due today (open or ticked today) and open ones overdue from this or last week."""
        zone = ZoneInfo(timezone)
        end_of_today = datetime.combine(today + timedelta(days=1), time.min, zone).astimezone(UTC)
        rows = (
            await self.session.execute(
                select(RepPlanItem, Customer.name)
                .join(RepPlan, RepPlan.id == RepPlanItem.plan_id)
                .outerjoin(Customer, Customer.id == RepPlanItem.customer_id)
                .where(
                    RepPlan.rep_id == rep_id,
                    RepPlan.week_start >= week_of(today) - timedelta(days=7),
                    RepPlanItem.due_at.is_not(None),
                    RepPlanItem.due_at < end_of_today,
                )
                .order_by(RepPlanItem.due_at, RepPlanItem.position)
            )
        ).all()
        due = []
        for item, customer_name in rows:
            assert item.due_at is not None  # filtered above
            on = local_date(item.due_at, timezone)
            done_today = item.done_at is not None and local_date(item.done_at, timezone) == today
            if on == today or (item.done_at is None) or done_today:
                due.append(
                    DueItem(item, item.plan_id, customer_name, on, on < today and item.done_at is None)
                )
        return due

    async def _names(self, model: type[User] | type[Customer], ids: set[UUID]) -> dict[UUID, str]:
        if not ids:
            return {}
        rows = await self.session.execute(select(model.id, model.name).where(model.id.in_(list(ids))))
        return {row[0]: row[1] for row in rows}


def _measured(measured: Measured, item: RepPlanItem, rep_id: UUID) -> Decimal | None:
    if item.metric == "custom":
        return None
    key = ("customer", item.customer_id) if item.customer_id else ("user", rep_id)
    return measured.get((item.metric, key[0], key[1]), Decimal(0))


async def customer_choices(session: AsyncSession, rep_id: UUID) -> list[tuple[UUID, str]]:
    """The rep's own customers (not closed) for the item form's picker, by name."""
    rows = await session.execute(
        select(Customer.id, Customer.name)
        .where(Customer.owner_rep_id == rep_id, Customer.status != "closed")
        .order_by(Customer.name)
        .limit(1000)
    )
    return [(row[0], row[1]) for row in rows]
