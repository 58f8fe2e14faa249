"""Overdue-task reminders: the rep first; still untouched after the second window, the rep
again with their manager copied (DESIGN §5, escalation ladder, overdue task).
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
from server.core.org import OrgTree, company_settings
from server.core.services import Service
from server.db.models import Customer, OrgUnit, Task, User
from server.domain.escalation import SECOND_REMINDER_WINDOW, overdue_reminder_stage
from server.services.notifications.outbox import Draft, NotificationsService


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
class _Due:
    """One reminder to send now."""

    task_id: UUID
    stage: int
    drafts: list[Draft]  # the rep's reminder first, then the manager's copy if any


class RemindersService(Service):
    async def remind_overdue(self) -> dict[str, int]:
        """Queue every reminder due now, for all reps, and record them on the tasks."""
        now = self.clock.now()
        tree = await OrgTree.load(self.session)
        windows = await self._second_windows(tree)
        # The query narrows by the shortest window in use; the window of each rep's own company
        # then decides in _reminder.
        narrowest = min([*windows.values(), SECOND_REMINDER_WINDOW])
        due = []
        for row in await self._candidates(now, narrowest):
            company = tree.company_of(row.rep_unit_id)
            window = windows.get(company, SECOND_REMINDER_WINDOW) if company else SECOND_REMINDER_WINDOW
            if item := self._reminder(row, now, window):
                due.append(item)
        drafts = [draft for item in due for draft in item.drafts]
        queued = await self.ctx.get(NotificationsService).notify_many(drafts)
        deliver_after = {draft.dedup_key: q.deliver_after for draft, q in zip(drafts, queued, strict=True)}
        if due:
            # The second window starts when the rep could first see the reminder (after quiet
            # hours), so a reminder held overnight does not bring the manager in at 07:00 too.
            table = Task.__table__
            await self.session.execute(
                update(table)
                .where(table.c.id == bindparam("t_id"), table.c.reminders_sent == bindparam("t_before"))
                .values(reminders_sent=bindparam("t_stage"), last_reminded_at=bindparam("t_at")),
                [
                    {
                        "t_id": item.task_id,
                        "t_before": item.stage - 1,
                        "t_stage": item.stage,
                        "t_at": deliver_after[item.drafts[0].dedup_key],
                    }
                    for item in due
                ],
            )
        return {
            "first_reminders": sum(1 for item in due if item.stage == 1),
            "second_reminders": sum(1 for item in due if item.stage == 2),
            "managers_copied": sum(len(item.drafts) - 1 for item in due),
            "queued": sum(1 for q in queued if q.created),
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
        )
        return list((await self.session.execute(stmt)).all())

    def _reminder(self, row: Any, now: datetime, window: timedelta) -> _Due | None:
        # The domain rule has the last word; the query above only narrows the candidates.
        stage = overdue_reminder_stage(
            row.due_at, row.status_changed_at, now, row.reminders_sent, window, row.last_reminded_at
        )
        if stage == 0:
            return None
        tag, url = f"overdue-{row.id}", "/"
        with _in_language(row.rep_locale):
            due = _local_time(row.due_at, row.rep_tz)
            if stage == 1:
                title = _("Overdue: %(what)s", what=row.what)
                body = _("Due at %(time)s and not updated yet.", time=due)
            else:
                title = _("Still overdue: %(what)s", what=row.what)
                body = _("Due at %(time)s and still not updated. Your manager has been copied.", time=due)
        drafts = [Draft(row.rep_id, "overdue_task", title, body, f"overdue_task:{row.id}:{stage}", url, tag)]
        if stage == 2 and row.manager_id is not None:
            with _in_language(row.manager_locale):
                drafts.append(
                    Draft(
                        row.manager_id,
                        "overdue_task",
                        _("%(rep)s: task overdue", rep=row.rep_name),
                        _(
                            "%(rep)s has not updated “%(what)s”, due at %(time)s.",
                            rep=row.rep_name,
                            what=row.what,
                            time=_local_time(row.due_at, row.manager_tz),
                        ),
                        f"overdue_task:{row.id}:2:manager",
                        "/team",
                        tag,
                    )
                )
        return _Due(row.id, stage, drafts)
