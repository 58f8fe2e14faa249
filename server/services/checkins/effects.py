"""What a check-out changes besides the check-in row: the task, the promise, the customer's dates.

`VisitEffects` sits between `CheckinReads` and `CheckinsService` (visits.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from server.core.access import Principal
from server.core.audit import AuditService
from server.db.models import Checkin, Customer, Promise, Task
from server.domain.policy import next_due
from server.services.checkins.reads import CheckinReads
from server.services.checkins.statements import (
    CHECKIN_TASK,
    CLOSE_BY,
    CLOSE_EARLIER_OPEN,
    INSERT_TASK,
    NEXT_ARRIVAL,
    TASK_DONE,
    VISIT_DATES,
)

# Tasks a visit can complete: a snoozed or missed visit that happened after all still counts.
OPEN_TASK_STATUSES = ("planned", "snoozed", "missed")
WALK_IN = "walk_in"  # tasks.source of a visit made at a customer that was not on the day's list


class VisitEffects(CheckinReads):
    """The check-out's writes beyond the check-in row (the caller owns the transaction)."""

    async def _one_open_visit(self, checkin: Checkin) -> None:
        """A rep is at one customer at a time: arriving somewhere closes any earlier visit still
        open, at this arrival's time; and an arrival older than one already recorded (an outbox
        replayed late, a second phone) is itself closed at the next arrival. Closed this way, a
        visit keeps no outcome and can still be checked out (checkout_hash stays NULL), so no
        visit and nothing typed about it is lost (docs/checkins.md, "One open visit")."""
        params = {"visit_rep": checkin.rep_id, "visit_id": checkin.id, "visit_at": checkin.checked_in_at}
        await self.session.execute(CLOSE_EARLIER_OPEN, params)
        later = (await self.session.execute(NEXT_ARRIVAL, params)).first()
        if later is not None:
            await self.session.execute(
                CLOSE_BY, {"visit_id": checkin.id, "visit_at": later.checked_in_at, "closer_id": later.id}
            )
            set_committed_value(checkin, "checked_out_at", later.checked_in_at)
            set_committed_value(checkin, "closed_by_checkin_id", later.id)

    async def _insert(self, statement: Any, **values: Any) -> UUID:
        """A plain INSERT of one row (column defaults apply); returns its new id."""
        row_id = uuid4()
        await self.session.execute(statement, {"id": row_id, **values})
        return row_id

    async def _complete_task(self, rep: Principal, checkin: Checkin, visit_date: date, now: datetime) -> None:
        """Mark the visit's task done: the one named at check-in, else today's planned visit."""
        if checkin.task_id is not None:
            task = await self.session.get(Task, checkin.task_id)
        else:
            task = await self.session.scalar(
                select(Task)
                .where(
                    Task.rep_id == rep.id,
                    Task.customer_id == checkin.customer_id,
                    Task.local_date == visit_date,
                    Task.kind == "visit",
                    Task.status.in_(OPEN_TASK_STATUSES),
                )
                .order_by(Task.rank.asc().nulls_last())
                .limit(1)
            )
        if task is None and checkin.task_id is None:
            await self._add_walk_in(rep, checkin, visit_date, now)
            return
        if task is None or task.rep_id != rep.id or task.status == "done":
            return
        before = task.status
        # Plain UPDATEs, and the loaded objects told what was written (no unit-of-work flush).
        done = {"status": "done", "checkin_id": checkin.id, "status_changed_at": now, "updated_at": now}
        await self.session.execute(TASK_DONE, {"task_id": task.id, **done})
        for name, value in done.items():
            set_committed_value(task, name, value)
        if checkin.task_id != task.id:
            await self.session.execute(CHECKIN_TASK, {"checkin_id": checkin.id, "task_id": task.id})
            set_committed_value(checkin, "task_id", task.id)
        if task.promise_id is not None:  # a visit that keeps a promise closes it
            await self.session.execute(
                update(Promise)
                .where(Promise.id == task.promise_id, Promise.status == "open")
                .values(status="done", done_at=now)
            )
        await self.ctx.get(AuditService).append(
            rep.id,
            "task.done_by_visit",
            "task",
            task.id,
            {"status": before},
            {"status": "done", "checkin_id": checkin.id},
        )

    async def _add_walk_in(self, rep: Principal, checkin: Checkin, visit_date: date, now: datetime) -> None:
        """A visit at a customer not on the day's list joins it, done (a walk-in)."""
        task_id = uuid4()
        await self.session.execute(
            INSERT_TASK,
            {
                "id": task_id, "rep_id": rep.id, "local_date": visit_date, "customer_id": checkin.customer_id,
                "kind": "visit", "source": WALK_IN, "status": "done", "checkin_id": checkin.id,
                "status_changed_at": now, "created_by": rep.id, "score": 0.0, "reasons": [],
                "reminders_sent": 0, "created_at": now, "updated_at": now,
            },
        )  # fmt: skip
        await self.session.execute(CHECKIN_TASK, {"checkin_id": checkin.id, "task_id": task_id})
        set_committed_value(checkin, "task_id", task_id)
        await self.ctx.get(AuditService).append(
            rep.id, "task.walk_in", "task", task_id, None, {"status": "done", "checkin_id": checkin.id}
        )

    async def _update_customer(
        self, customer: Customer, visit_date: date, ordered_on: date | None, now: datetime
    ) -> None:
        interval = await self._interval(customer.org_unit_id, customer.grade)
        params = {
            "customer_id": customer.id,
            "visit_date": visit_date,
            "next_due": next_due(visit_date, interval, visit_date),
            "ordered_on": ordered_on,
            "now": now,
        }
        await self.session.execute(VISIT_DATES[ordered_on is not None], params)
