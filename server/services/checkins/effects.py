"""What a check-out changes besides the check-in row (the task, the promise, the customer's
dates), as the parameters of the writes checkout_writes.py runs.

`VisitEffects` sits between `CheckinReads` and `CheckinsService` (visits.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from server.core.access import Principal
from server.core.audit import AuditService
from server.db.models import Checkin, Customer, Task
from server.domain.policy import next_due
from server.services.checkins.checkout_writes import CheckoutWrites
from server.services.checkins.context import PLANNED_VISIT, task_of
from server.services.checkins.reads import DEFAULT_INTERVALS, CheckinReads
from server.services.checkins.statements import CLOSE_EARLIER_OPEN

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

    def _task_writes(
        self,
        writes: CheckoutWrites,
        rep: Principal,
        checkin: Checkin,
        task: Task | None,
        walk_in_id: UUID | None,
        visit_date: date,
        now: datetime,
    ) -> None:
        """The visit's task done (the claim links it to the check-in) and the promise it kept, or
        the walk-in's task added, done, under the id the claim gives the check-in (`walk_in_id`)."""
        audit = self.ctx.get(AuditService)
        if walk_in_id is not None:
            writes.walk_in = {
                "id": walk_in_id, "rep_id": rep.id, "local_date": visit_date, "customer_id": checkin.customer_id,
                "kind": "visit", "source": WALK_IN, "status": "done", "checkin_id": checkin.id,
                "status_changed_at": now, "created_by": rep.id, "score": 0.0, "reasons": [],
                "reminders_sent": 0, "created_at": now, "updated_at": now,
            }  # fmt: skip
            after = {"status": "done", "checkin_id": checkin.id}
            writes.audit = audit.row(rep.id, "task.walk_in", "task", walk_in_id, None, after)
            return
        if task is None or task.rep_id != rep.id or task.status == "done":
            return
        done = {"status": "done", "checkin_id": checkin.id, "status_changed_at": now, "updated_at": now}
        writes.task_done = {"task_id": task.id, **done}
        if task.promise_id is not None:  # a visit that keeps a promise closes it
            writes.promise_done = {"promise_id": task.promise_id, "done_at": now}
        writes.audit = audit.row(
            rep.id,
            "task.done_by_visit",
            "task",
            task.id,
            {"status": task.status},
            {"status": "done", "checkin_id": checkin.id},
        )

    def _visit_dates(
        self,
        customer: Customer,
        policy_days: int | None,
        visit_date: date,
        ordered_on: date | None,
        now: datetime,
    ) -> dict[str, Any]:
        """VISIT_DATES' parameters: the customer's visit (and order) dates; `policy_days` is the
        company's interval for the customer's grade, read with the arrival (None: the default)."""
        interval = policy_days or DEFAULT_INTERVALS.get(customer.grade, DEFAULT_INTERVALS["D"])
        return {
            "customer_id": customer.id,
            "visit_date": visit_date,
            "next_due": next_due(visit_date, interval, visit_date),
            "ordered_on": ordered_on,
            "now": now,
        }
