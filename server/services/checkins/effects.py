"""What a check-out changes besides the check-in row: the task, the promise, the customer's dates.

`VisitEffects` sits between `CheckinReads` and `CheckinsService` (visits.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import update

from server.core.access import Principal
from server.core.audit import AuditService
from server.db.models import Checkin, Customer, Promise, Task
from server.domain.policy import next_due
from server.services.checkins.context import PLANNED_VISIT, task_of
from server.services.checkins.reads import DEFAULT_INTERVALS, CheckinReads
from server.services.checkins.statements import CLOSE_EARLIER_OPEN, INSERT_TASK, TASK_DONE, VISIT_DATES

WALK_IN = "walk_in"  # tasks.source of a visit made at a customer that was not on the day's list


class VisitEffects(CheckinReads):
    """The check-out's writes beyond the check-in row (the caller owns the transaction)."""

    async def _close_earlier_visits(self, visit: dict[str, Any]) -> None:
        """A rep is at one customer at a time: arriving somewhere closes any earlier visit still
        open, at this arrival's time (and an arrival older than one already recorded is closed at
        the next arrival by its own INSERT, statements.py). Closed this way, a visit keeps no
        outcome and can still be checked out (checkout_hash stays NULL), so no visit and nothing
        typed about it is lost (docs/checkins.md, "One open visit"). Run only when the arrival's
        read saw such a visit (context.py), which a new arrival seldom has."""
        await self._core(CLOSE_EARLIER_OPEN, visit)

    async def _insert(self, statement: Any, **values: Any) -> UUID:
        """A plain INSERT of one row (column defaults apply); returns its new id."""
        row_id = uuid4()
        await self._core(statement, {"id": row_id, **values})
        return row_id

    async def _task_of(
        self, rep: Principal, checkin: Checkin, named: Task | None, visit_date: date
    ) -> Task | None:
        """The task a visit completes: the one named at check-in (read with the arrival), else
        today's open visit task of the rep at this customer."""
        if checkin.task_id is not None:
            return named
        params = {"rep_id": rep.id, "customer_id": checkin.customer_id, "visit_date": visit_date}
        planned = (await self._core(PLANNED_VISIT, params)).first()
        return task_of(*planned) if planned is not None else None

    async def _complete_task(
        self,
        rep: Principal,
        checkin: Checkin,
        task: Task | None,
        walk_in: bool,
        visit_date: date,
        now: datetime,
    ) -> None:
        """Mark the visit's task done (the claim linked it to the check-in), or add the walk-in's."""
        if walk_in:
            await self._add_walk_in(rep, checkin, visit_date, now)
            return
        if task is None or task.rep_id != rep.id or task.status == "done":
            return
        before = task.status
        # A plain UPDATE (the task was read as plain columns: no unit-of-work flush).
        done = {"status": "done", "checkin_id": checkin.id, "status_changed_at": now, "updated_at": now}
        await self._core(TASK_DONE, {"task_id": task.id, **done})
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
        """A visit at a customer not on the day's list joins it, done (a walk-in), under the id
        the check-out's claim already gave the check-in."""
        task_id = checkin.task_id
        await self._core(
            INSERT_TASK,
            {
                "id": task_id, "rep_id": rep.id, "local_date": visit_date, "customer_id": checkin.customer_id,
                "kind": "visit", "source": WALK_IN, "status": "done", "checkin_id": checkin.id,
                "status_changed_at": now, "created_by": rep.id, "score": 0.0, "reasons": [],
                "reminders_sent": 0, "created_at": now, "updated_at": now,
            },
        )  # fmt: skip
        await self.ctx.get(AuditService).append(
            rep.id, "task.walk_in", "task", task_id, None, {"status": "done", "checkin_id": checkin.id}
        )

    async def _update_customer(
        self,
        customer: Customer,
        policy_days: int | None,
        visit_date: date,
        ordered_on: date | None,
        now: datetime,
    ) -> None:
        """The customer's visit (and order) dates; `policy_days` is the company's interval for
        the customer's grade, read with the arrival (None: the default)."""
        interval = policy_days or DEFAULT_INTERVALS.get(customer.grade, DEFAULT_INTERVALS["D"])
        params = {
            "customer_id": customer.id,
            "visit_date": visit_date,
            "next_due": next_due(visit_date, interval, visit_date),
            "ordered_on": ordered_on,
            "now": now,
        }
        await self._core(VISIT_DATES[ordered_on is not None], params)
