"""Overdue-task reminders: the rep first; still untouched after the second window, the rep
again with their manager copied (DESIGN §5, escalation ladder, overdue task). Only inside the
rep's working hours on working days of their unit; one grouped message per rep per window.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import aliased

from server.core import i18n
from server.core.i18n import gettext as _
from server.core.i18n import ngettext
from server.core.org import OrgTree, company_settings
from server.core.services import Service
from server.db.models import Checkin, Customer, OrgUnit, Task, User
from server.domain.escalation import SECOND_REMINDER_WINDOW, overdue_reminder_stage
from server.domain.worktime import reminder_window
from server.services.notifications.outbox import Draft, NotificationsService
from server.services.org.worktime import WorkCalendar


def _checked_in_there() -> Any:
    """The rep is checked in at the task's customer (or on the task) right now: no reminder."""
    return (
        select(Checkin.id)
        .where(
            Checkin.rep_id == Task.rep_id,
            Checkin.checked_out_at.is_(None),
            or_(Checkin.task_id == Task.id, Checkin.customer_id == Task.customer_id),
        )
        .exists()
    )


@contextmanager
def _in_language(locale: str | None) -> Iterator[None]:
    token = i18n.current_locale.set(i18n.negotiate(locale, None))
    try:
        yield
    finally:
        i18n.current_locale.reset(token)


def _local_time(instant: datetime, tz: str | None) -> str:
    return instant.astimezone(ZoneInfo(tz or "UTC")).strftime("%H:%M")


@dataclass(frozen=True)
class _Group:
    """One rep's reminder for this window: the tasks due a first or second reminder."""

    rep_id: UUID
    window: str  # <local date>:<window index>
    tasks: list[tuple[Any, int]]  # (candidate row, stage)

    @property
    def rep_key(self) -> str:
        return f"overdue:{self.rep_id}:{self.window}"


class RemindersService(Service):
    async def remind_overdue(self) -> dict[str, int]:
        """Queue the reminders due now: one grouped reminder per rep per window, in working hours.

        A task waits for a reminder while its rep is outside working hours (evenings, weekends,
        the unit's holidays). A rep already reminded in this window gets the newly overdue tasks
        in the next one; the manager's copy (second reminders) is one message per rep per window.
        """
        now = self.clock.now()
        tree = await OrgTree.load(self.session)
        windows = await self._second_windows(tree)
        # The query narrows by the shortest window in use; the window of each rep's own company
        # then decides below.
        rows = await self._candidates(now, min([*windows.values(), SECOND_REMINDER_WINDOW]))
        calendar = await WorkCalendar.load(self.session, tree, {row.rep_unit_id for row in rows}, now)
        groups: dict[UUID, _Group] = {}
        outside = 0
        for row in rows:
            company = tree.company_of(row.rep_unit_id)
            window = windows.get(company, SECOND_REMINDER_WINDOW) if company else SECOND_REMINDER_WINDOW
            stage = overdue_reminder_stage(
                row.due_at, row.status_changed_at, now, row.reminders_sent, window, row.last_reminded_at
            )
            if stage == 0:
                continue
            if not calendar.is_working_time(now, row.rep_unit_id, row.rep_tz):
                outside += 1
                continue
            if row.rep_id not in groups:
                local_now = calendar.local_now(now, row.rep_tz)
                day, index = reminder_window(local_now, window, calendar.hours(row.rep_unit_id)[0])
                groups[row.rep_id] = _Group(row.rep_id, f"{day.isoformat()}:{index}", [])
            groups[row.rep_id].tasks.append((row, stage))
        ordered = sorted(groups.values(), key=lambda g: str(g.rep_id))
        drafts = {group.rep_id: self._drafts(group) for group in ordered}
        outbox = self.ctx.get(NotificationsService)
        rep_drafts = [drafts[g.rep_id][0] for g in ordered]
        queued = await outbox.notify_many(rep_drafts)
        outcome = {draft.dedup_key: q for draft, q in zip(rep_drafts, queued, strict=True)}
        # Only the tasks of a reminder actually queued now are marked, and only then is the
        # manager copied; a rep reminded earlier in this window hears of the rest in the next one.
        sent = [g for g in ordered if outcome[g.rep_key].created]
        copies = [draft for g in sent for draft in drafts[g.rep_id][1:]]
        copied = await outbox.notify_many(copies)
        marks = [
            {
                "t_id": row.id,
                "t_before": stage - 1,
                "t_stage": stage,
                # The second window starts when the rep could first see the reminder.
                "t_at": outcome[group.rep_key].deliver_after,
            }
            for group in sent
            for row, stage in group.tasks
        ]
        if marks:
            table = Task.__table__
            await self.session.execute(
                update(table)
                .where(table.c.id == bindparam("t_id"), table.c.reminders_sent == bindparam("t_before"))
                .values(reminders_sent=bindparam("t_stage"), last_reminded_at=bindparam("t_at")),
                marks,
            )
        return {
            "first_reminders": sum(1 for g in sent for _row, stage in g.tasks if stage == 1),
            "second_reminders": sum(1 for g in sent for _row, stage in g.tasks if stage == 2),
            "reps_reminded": len(sent),
            "managers_copied": sum(1 for q in copied if q.created),
            "outside_working_hours": outside,
            "queued": sum(1 for q in [*queued, *copied] if q.created),
        }

    async def _second_windows(self, tree: OrgTree) -> dict[UUID, timedelta]:
        """Each company's second-reminder window (companies without a setting use the default)."""
        found = await company_settings(self.session, tree.companies())
        return {
            company: timedelta(hours=row.reminder_second_window_h)
            for company, row in found.items()
            if row.reminder_second_window_h
        }

    async def _candidates(self, now: datetime, window: timedelta) -> list[Any]:
        """One statement for all reps: planned tasks past due, untouched since, a reminder due."""
        rep, unit, parent, manager = aliased(User), aliased(OrgUnit), aliased(OrgUnit), aliased(User)
        # The rep's team manager, else the manager of the unit above (a team without one).
        manager_id = func.coalesce(unit.manager_user_id, parent.manager_user_id)
        second_due = now - window
        stmt = (
            select(
                Task.id,
                Task.due_at,
                Task.local_date,
                Task.status_changed_at,
                Task.reminders_sent,
                Task.last_reminded_at,
                func.coalesce(Task.title, Customer.name, Task.kind).label("what"),
                rep.id.label("rep_id"),
                rep.name.label("rep_name"),
                rep.timezone.label("rep_tz"),
                rep.locale.label("rep_locale"),
                rep.org_unit_id.label("rep_unit_id"),
                manager.id.label("manager_id"),
                manager.timezone.label("manager_tz"),
                manager.locale.label("manager_locale"),
            )
            .join(rep, and_(rep.id == Task.rep_id, rep.active.is_(True)))
            .outerjoin(Customer, Customer.id == Task.customer_id)
            .outerjoin(unit, unit.id == rep.org_unit_id)
            .outerjoin(parent, parent.id == unit.parent_id)
            .outerjoin(
                manager, and_(manager.id == manager_id, manager.active.is_(True), manager.id != rep.id)
            )
            .where(
                Task.status == "planned",
                Task.due_at <= now,
                ~_checked_in_there(),
                or_(Task.status_changed_at.is_(None), Task.status_changed_at <= Task.due_at),
                or_(
                    Task.reminders_sent == 0,
                    and_(
                        Task.reminders_sent == 1,
                        or_(
                            Task.last_reminded_at <= second_due,
                            and_(Task.last_reminded_at.is_(None), Task.due_at <= second_due),
                        ),
                    ),
                ),
            )
            .order_by(Task.due_at, Task.id)
        )
        return list((await self.session.execute(stmt)).all())

    def _drafts(self, group: _Group) -> list[Draft]:
        """The rep's grouped reminder, and the manager's copy when any task is on its second."""
        first_row = group.tasks[0][0]
        tasks = group.tasks
        second = [(row, stage) for row, stage in tasks if stage == 2]
        url = f"/#task-{first_row.id}" if len(tasks) == 1 else "/"
        with _in_language(first_row.rep_locale):
            lines = _task_lines(tasks, first_row.rep_tz)
            if len(tasks) == 1:
                what = first_row.what
                title = (
                    _("Still overdue: %(what)s", what=what) if second else _("Overdue: %(what)s", what=what)
                )
            else:
                title = ngettext("%(num)d task overdue", "%(num)d tasks overdue", len(tasks))
            body = lines
            if second:
                body += "\n" + _("Your manager has been copied.")
        drafts = [Draft(group.rep_id, "overdue_task", title, body, group.rep_key, url, "overdue")]
        if second and first_row.manager_id is not None:
            day = first_row.local_date.isoformat()
            with _in_language(first_row.manager_locale):
                drafts.append(
                    Draft(
                        first_row.manager_id,
                        "overdue_task",
                        ngettext(
                            "%(rep)s: %(num)d task still overdue",
                            "%(rep)s: %(num)d tasks still overdue",
                            len(second),
                            rep=first_row.rep_name,
                        ),
                        _("%(rep)s has not updated:", rep=first_row.rep_name)
                        + "\n"
                        + _task_lines(second, first_row.manager_tz),
                        f"{group.rep_key}:manager",
                        f"/team/reps/{group.rep_id}/day?date={day}",
                        f"overdue-{group.rep_id}",
                    )
                )
        return drafts


def _task_lines(tasks: list[tuple[Any, int]], tz: str | None) -> str:
    """One line per task: its name and local due time (at most five, then "and N more")."""
    shown = [
        _("%(what)s (due %(time)s)", what=row.what, time=_local_time(row.due_at, tz))
        for row, _stage in tasks[:5]
    ]
    if len(tasks) > 5:
        shown.append(_("and %(num)d more", num=len(tasks) - 5))
    return "\n".join(shown)
