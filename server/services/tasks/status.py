"""Status changes of a task: done or skipped by hand, snoozed later today, or moved to another
date (a copy lives there, the original says "rescheduled"); a replay of the same snooze is a
no-op. The rules are server/domain/tasks.py; this applies them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update

from server.core.access import Principal
from server.core.errors import ProblemError, field_error
from server.core.services import Service
from server.db.models import Promise, Task, User
from server.domain.compose import end_of_day
from server.domain.tasks import TaskChange, TaskRuleError, check_change, parse_snooze
from server.services.tasks.planner import PlannerService
from server.services.tasks.tasks import MAX_DAYS_AHEAD, MOVED


class TaskStatusService(Service):
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


def _instant(value: datetime | date, tz: str) -> datetime:
    """A snooze as a UTC instant: a date means the start of that local day."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, datetime.min.time(), ZoneInfo(tz)).astimezone(UTC)
