"""Task lifecycle: a rep's day, status changes, tasks added by hand, and closing past days.

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

from sqlalchemy import and_, delete, or_, select, update

from server.core.access import Principal, Scope
from server.core.errors import ProblemError, field_error, not_found
from server.core.services import Service
from server.db.models import Customer, DailyPlan, Promise, Task, User
from server.domain.compose import end_of_day
from server.domain.scoring import DEFAULT_WEIGHTS, Reason
from server.domain.tasks import TaskChange, TaskRuleError, check_change, parse_snooze
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

    async def ensure_today(self, rep: User) -> None:
        """Make today's plan if it is due and missing (a cheap read when it exists)."""
        planner = self.ctx.get(PlannerService)
        day = await planner.due_date(rep.id)
        if day is not None:
            await self.close_days([rep.id])
            await planner.ensure_plan(rep.id, day)

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

    async def change(self, task: Task, change: TaskChange, actor: Principal) -> Task:
        """Apply a status change (validated; a replay of the same snooze is a no-op)."""
        tz = await self.session.scalar(select(User.timezone).where(User.id == task.rep_id)) or "UTC"
        now = self.clock.now()
        today = self.clock.local_date(tz)
        try:
            snooze = parse_snooze(change.snooze_until, tz, now) if change.snooze_until else None
            if (
                change.status == "snoozed"
                and snooze is not None
                and task.snoozed_until == _instant(snooze, tz)
            ):
                return task
            status = check_change(
                task.status,
                change,
                task_day=task.local_date,
                today=today,
                done_by_checkin=task.checkin_id is not None,
                moved=task.status_reason == MOVED,
            )
        except TaskRuleError as broken:
            if broken.conflict:
                raise ProblemError(
                    409, str(broken), [{"field": broken.field, "message": broken.message}]
                ) from None
            raise field_error(broken.field, broken.message) from None
        note_only = status == task.status and not change.snooze_until  # a note or reason, same status
        if status == "snoozed" and not note_only:
            self._check_snooze(task, snooze, tz, today, now)
        if change.note is not None:
            task.status_note = change.note or None
        if note_only:
            if status == "skipped" and change.reason:
                task.status_reason = change.reason
            await self.session.flush()
            return task
        if status == "snoozed":
            await self._snooze(task, snooze, tz, today, now, actor)
        else:
            await self._set_status(task, status, change.reason, tz, now)
        task.status_changed_at = now
        await self.session.flush()
        return task

    async def _set_status(self, task: Task, status: str, reason: str | None, tz: str, now: datetime) -> None:
        was_missed = task.status == "missed"
        task.status = status
        task.status_reason = reason if status == "skipped" else None
        if status == "planned":
            task.snoozed_until = None
            task.due_at = max(end_of_day(task.local_date, tz), now)
        if task.promise_id and (status == "done" or reason in ("not_needed", "customer_closed")):
            await self.session.execute(
                update(Promise)
                .where(Promise.id == task.promise_id, Promise.status == "open")
                .values(status="done" if status == "done" else "cancelled", done_at=now)
            )
        if was_missed:
            # Recorded after the day closed: the carried-over copy is no longer needed.
            await self.session.execute(
                delete(Task).where(
                    Task.carried_from_id == task.id, Task.status == "planned", Task.source == "carry_over"
                )
            )

    @staticmethod
    def _check_snooze(task: Task, until: datetime | date | None, tz: str, today: date, now: datetime) -> None:
        """Refuse a snooze target before anything of the task changes (the caller keeps no half)."""
        if isinstance(until, datetime):
            if until <= now:
                raise field_error("snooze_until", "must be in the future")
            if until.astimezone(ZoneInfo(tz)).date() != task.local_date:
                raise field_error("snooze_until", "must be later on the task's day; give a date to move it")
            return
        if until is None or until <= max(today, task.local_date):
            raise field_error("snooze_until", "must be a later time today or a date after today")
        if until > today + timedelta(days=MAX_DAYS_AHEAD):
            raise field_error("snooze_until", f"must be within {MAX_DAYS_AHEAD} days")

    async def _snooze(
        self,
        task: Task,
        until: datetime | date | None,
        tz: str,
        today: date,
        now: datetime,
        actor: Principal,
    ) -> None:
        if isinstance(until, datetime):
            task.status, task.status_reason, task.snoozed_until, task.due_at = "snoozed", None, until, until
            return
        assert until is not None  # _check_snooze refused it
        task.status, task.status_reason, task.snoozed_until = "snoozed", MOVED, _instant(until, tz)
        self.session.add(
            Task(
                id=uuid4(),
                rep_id=task.rep_id,
                local_date=until,
                customer_id=task.customer_id,
                kind=task.kind,
                title=task.title,
                score=task.score,
                reasons=task.reasons,
                status="planned",
                due_at=end_of_day(until, tz),
                source="rep" if actor.is_rep else "manager",
                created_by=actor.id,
                promise_id=task.promise_id,
                carried_from_id=task.id,
            )
        )
        await self.session.flush()
        await self.ctx.get(PlannerService).reroute(task.rep_id, until)

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
        self.session.add(task)
        await self.session.flush()
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


def _instant(value: datetime | date, tz: str) -> datetime:
    """A snooze as a UTC instant: a date means the start of that local day."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, datetime.min.time(), ZoneInfo(tz)).astimezone(UTC)
