"""Task lifecycle: a rep's day, tasks added by hand, and closing past days (status changes by
hand: services/tasks/status.py).

Statuses: planned -> done (check-in or by hand) | skipped (with a reason) | snoozed (later today,
or moved to a date: a copy is created there) ; still planned or snoozed-for-today when the rep's
local day ends -> missed, and the next plan carries it over.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from server.core.access import Principal, Scope
from server.core.errors import field_error, not_found
from server.core.services import Service
from server.db.models import Customer, DailyPlan, Task, User
from server.domain.compose import end_of_day
from server.domain.scoring import DEFAULT_WEIGHTS, Reason
from server.services.tasks.planner import PlannerService

KINDS = ("visit", "call", "follow_up", "collect", "custom")
MAX_DAYS_AHEAD = 60
MOVED = "rescheduled"  # status_reason of a task snoozed to another date (a copy lives there)


@dataclass(frozen=True)
class NewTask:
    local_date: date | None = None
    customer_id: UUID | None = None
    kind: str | None = None
    title: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class TaskItem:
    """A task with what the Today card shows about its customer."""

    task: Task
    customer_name: str | None = None
    address: str | None = None
    lat: float | None = None
    lng: float | None = None
    grade: str | None = None

    @property
    def navigate_url(self) -> str | None:
        if self.lat is None or self.lng is None:
            return None
        return f"https://www.google.com/maps/dir/?api=1&destination={self.lat},{self.lng}"

    @property
    def is_open(self) -> bool:
        return self.task.status in ("planned", "snoozed") and self.task.status_reason != MOVED


@dataclass
class DayView:
    rep: User
    local_date: date
    today: date
    plan: DailyPlan | None
    items: list[TaskItem] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("planned", "done", "skipped", "snoozed", "missed", "moved"), 0)
        for item in self.items:
            counts["moved" if item.task.status_reason == MOVED else item.task.status] += 1
        counts["total"] = len(self.items) - counts["moved"]
        return counts


class TasksService(Service):
    def local_today(self, tz: str) -> date:
        return self.clock.local_date(tz)

    async def rep_in_scope(self, rep_id: UUID, access: Scope) -> User:
        """The rep, if the caller may see them; out of scope looks exactly like missing."""
        rep = await self.session.get(User, rep_id)
        if rep is None or rep.role != "rep" or not access.sees_user(rep.id, rep.org_unit_id):
            raise not_found("Rep", rep_id)
        return rep

    async def user(self, user_id: UUID) -> User:
        return await self.session.get_one(User, user_id)

    async def ensure_today(self, rep: User, day_off_too: bool = False) -> None:
        """Make today's plan if it is due and missing (a cheap read when it exists). A day off
        (weekend, holiday) gets a plan only when the rep asks for one (`day_off_too`)."""
        planner = self.ctx.get(PlannerService)
        day = await planner.due_date(rep.id)
        if day is not None:
            await self.close_days([rep.id])
            if day_off_too or not await planner.is_day_off(rep.id, day):
                await planner.ensure_plan(rep.id, day)

    async def is_day_off(self, rep: User, day: date) -> bool:
        return await self.ctx.get(PlannerService).is_day_off(rep.id, day)

    async def regenerate(self, rep: User, day: date | None) -> date:
        """Re-plan the rep's today; what is done, skipped or added by hand stays.

        Only today: a later day planned early would miss that morning's carry-overs.
        """
        today = self.local_today(rep.timezone)
        day = day or today
        if day != today:
            raise field_error("date", f"only today's plan ({today.isoformat()}) can be made again")
        await self.close_days([rep.id])
        await self.ctx.get(PlannerService).regenerate(rep.id, day)
        return day

    async def customer_choices(self, rep: User, access: Scope) -> list[tuple[UUID, str]]:
        """The rep's open customers the caller may see, for the add-task form."""
        rows = await self.session.execute(
            select(Customer.id, Customer.name)
            .where(
                Customer.owner_rep_id == rep.id, Customer.status != "closed", access.customer_clause(Customer)
            )
            .order_by(Customer.name)
        )
        return [(row.id, row.name) for row in rows]

    async def task_in_scope(self, task_id: UUID, access: Scope) -> Task:
        stmt = select(Task).where(Task.id == task_id, access.user_clause(Task.rep_id))
        task = await self.session.scalar(stmt)
        if task is None:
            raise not_found("Task", task_id)
        return task

    async def today(self, rep_id: UUID) -> DayView:
        """The rep's Today: their plan for their local today, made on the spot if it is due."""
        rep = await self.user(rep_id)
        await self.ensure_today(rep)
        return await self.day(rep, self.local_today(rep.timezone))

    async def day(self, rep: User, day: date) -> DayView:
        """The rep's tasks for a date: open ones in route order, then the finished ones."""
        plan = await self.session.scalar(
            select(DailyPlan).where(DailyPlan.rep_id == rep.id, DailyPlan.local_date == day)
        )
        rows = await self.session.execute(
            select(Task, Customer.name, Customer.address, Customer.lat, Customer.lng, Customer.grade)
            .outerjoin(Customer, Customer.id == Task.customer_id)
            .where(Task.rep_id == rep.id, Task.local_date == day)
        )
        items = [TaskItem(*row) for row in rows]
        items.sort(
            key=lambda i: (
                not i.is_open,
                i.task.route_order or 10_000,
                i.task.rank or 10_000,
                i.task.status_changed_at or datetime.max.replace(tzinfo=UTC),
                str(i.task.id),
            )
        )
        return DayView(rep, day, self.local_today(rep.timezone), plan, items)

    async def item(self, task: Task) -> TaskItem:
        """One task with its customer, for re-rendering a single card."""
        customer = await self.session.get(Customer, task.customer_id) if task.customer_id else None
        if customer is None:
            return TaskItem(task)
        return TaskItem(task, customer.name, customer.address, customer.lat, customer.lng, customer.grade)

    async def add(self, rep: User, body: NewTask, actor: Principal, access: Scope) -> tuple[Task, bool]:
        """Add a task or pin a customer to a rep's day; returns (task, created)."""
        today = self.local_today(rep.timezone)
        day = body.local_date or today
        if day < today or day > today + timedelta(days=MAX_DAYS_AHEAD):
            raise field_error("local_date", f"must be between today and {MAX_DAYS_AHEAD} days ahead")
        kind = body.kind or ("visit" if body.customer_id else "custom")
        if kind not in KINDS:
            raise field_error("kind", f"must be one of: {', '.join(KINDS)}")
        if body.customer_id is None and not body.title:
            raise field_error("title", "is required for a task without a customer")
        pin = Reason("manager_pin", "Pinned by your manager", DEFAULT_WEIGHTS.manager_pin).to_json()
        if body.customer_id is not None:
            customer = await self.session.scalar(
                select(Customer).where(Customer.id == body.customer_id, access.customer_clause(Customer))
            )
            if customer is None or customer.status == "closed":
                raise field_error("customer_id", "no such active customer")
            if customer.owner_rep_id != rep.id:  # the rep could never check in there
                raise field_error("customer_id", "is not one of this rep's customers")
            existing = await self.session.scalar(
                select(Task).where(
                    Task.rep_id == rep.id,
                    Task.local_date == day,
                    Task.customer_id == customer.id,
                    Task.status.in_(("planned", "snoozed")),
                    or_(Task.status_reason.is_(None), Task.status_reason != MOVED),
                )
            )
            if existing is not None:  # already on the day: a manager's pin protects it from regenerate
                if not actor.is_rep and existing.source != "manager":
                    existing.source, existing.created_by = "manager", actor.id
                    existing.reasons = [pin, *existing.reasons]
                    existing.score = round(existing.score + DEFAULT_WEIGHTS.manager_pin, 2)
                    await self.session.flush()
                    await self.ctx.get(PlannerService).reroute(rep.id, day)
                return existing, False
        now = self.clock.now()
        task = Task(
            id=uuid4(),
            rep_id=rep.id,
            local_date=day,
            customer_id=body.customer_id,
            kind=kind,
            title=body.title,
            score=0.0 if actor.is_rep else DEFAULT_WEIGHTS.manager_pin,
            reasons=[] if actor.is_rep else [pin],
            status="planned",
            due_at=max(end_of_day(day, rep.timezone), now + timedelta(hours=1)),
            source="rep" if actor.is_rep else "manager",
            created_by=actor.id,
            status_note=body.note,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(task)
                await self.session.flush()
        except IntegrityError:
            if body.customer_id is None:
                raise
            # One open task per customer and day (a unique index): a concurrent add won the race.
            twin = await self.session.scalar(
                select(Task).where(
                    Task.rep_id == rep.id,
                    Task.local_date == day,
                    Task.customer_id == body.customer_id,
                    Task.kind == kind,
                    Task.status.in_(("planned", "snoozed")),
                    or_(Task.status_reason.is_(None), Task.status_reason != MOVED),
                )
            )
            if twin is None:
                raise
            return twin, False
        await self.ctx.get(PlannerService).reroute(rep.id, day)
        return task, True

    async def close_days(self, rep_ids: list[UUID] | None = None) -> int:
        """Mark open tasks of days that have ended (in each rep's time zone) missed."""
        now = self.clock.now()
        reps = select(User.timezone).where(User.role == "rep").distinct()
        if rep_ids is not None:
            reps = reps.where(User.id.in_(rep_ids))
        zones_by_day: dict[date, list[str]] = defaultdict(list)
        for zone in await self.session.scalars(reps):
            try:
                zones_by_day[now.astimezone(ZoneInfo(zone)).date()].append(zone)
            except (ZoneInfoNotFoundError, ValueError):
                continue
        missed = 0
        for day, zones in zones_by_day.items():
            owners = select(User.id).where(User.timezone.in_(zones))
            if rep_ids is not None:
                owners = owners.where(User.id.in_(rep_ids))
            still_open = or_(
                Task.status == "planned",
                and_(
                    Task.status == "snoozed", or_(Task.status_reason.is_(None), Task.status_reason != MOVED)
                ),
            )
            result: Any = await self.session.execute(
                update(Task)
                .where(Task.rep_id.in_(owners), Task.local_date < day, still_open)
                .values(status="missed", status_changed_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            missed += result.rowcount or 0
        return missed
