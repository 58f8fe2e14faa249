"""Reads of the check-in area: scoped customers, tasks and check-ins, the company's settings.

`CheckinReads` is the base of `CheckinsService` (visits.py), which adds the two writes.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Result, select

from server.core.access import Principal, Scope
from server.core.errors import ProblemError, not_found
from server.core.services import Service
from server.db.models import Checkin, Customer, Order, OrgSettings, Promise, Task
from server.domain.checkin import DEFAULT_OUTCOMES
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.services.checkins.statements import SETTINGS_ABOVE

DEFAULT_INTERVALS: dict[str, int] = {grade: days for grade, days in DEFAULT_VISIT_INTERVALS.items()}


@dataclass(frozen=True)
class CheckinRecord:
    checkin: Checkin
    order_id: UUID | None = None
    promise_id: UUID | None = None


@dataclass(frozen=True)
class OpenVisit:
    """A check-in still waiting for its check-out."""

    id: UUID
    customer_id: UUID
    customer_name: str
    task_id: UUID | None
    checked_in_at: datetime


def reject(problems: list[dict[str, str]]) -> ProblemError:
    fields = ", ".join(p["field"] for p in problems)
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return ProblemError(422, detail or f"Invalid {fields}", problems)


def outcomes_of(settings: OrgSettings | None) -> list[str]:
    return list(settings.outcomes) if settings and settings.outcomes else list(DEFAULT_OUTCOMES)


def start_of(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


class CheckinReads(Service):
    """Scoped lookups shared by the check-in use cases and the pages."""

    async def _core(self, statement: Any, params: dict[str, Any]) -> Result[*tuple[Any, ...]]:
        """A Core statement of the check-in path (tables, not model objects) on the session's
        connection, in its transaction: no ORM execution around it (autoflush, ORM result), which
        cost ~45 us of CPU per statement, ten statements a visit. Nothing of a check-in or
        check-out waits in the session to be flushed before these run."""
        return await (await self.session.connection()).execute(statement, params)

    async def customer_in_scope(self, scope: Scope, customer_id: UUID) -> Customer:
        customer = await self.session.get(Customer, customer_id)
        if customer is None or not scope.sees_customer(customer.owner_rep_id, customer.org_unit_id):
            raise not_found("Customer", customer_id, "customer_id")
        return customer

    async def customer(self, customer_id: UUID) -> Customer:
        """A customer by id, unscoped: callers reach it through a check-in already in scope."""
        customer = await self.session.get(Customer, customer_id)
        if customer is None:
            raise not_found("Customer", customer_id, "customer_id")
        return customer

    async def task_for_visit(self, rep: Principal, task_id: UUID, customer_id: UUID) -> Task:
        """The rep's own task for this customer (404 for anyone else's, 422 for another customer)."""
        task = await self.session.get(Task, task_id)
        if task is None or task.rep_id != rep.id:
            raise not_found("Task", task_id, "task_id")
        if task.customer_id != customer_id:
            raise reject([{"field": "task_id", "message": "belongs to another customer"}])
        return task

    async def org_settings(self, unit_id: UUID) -> OrgSettings | None:
        """The settings of the company above `unit_id`; asked once per unit per session."""
        cache = self.session.info.setdefault("checkins.org_settings", {})
        if unit_id not in cache:
            cache[unit_id] = await self.session.scalar(SETTINGS_ABOVE, {"unit_id": unit_id})
        return cache[unit_id]

    async def outcomes_for(self, customer: Customer) -> list[str]:
        return outcomes_of(await self.org_settings(customer.org_unit_id))

    def _records(self) -> Any:
        order_id = select(Order.id).where(Order.checkin_id == Checkin.id).limit(1).scalar_subquery()
        promise_id = select(Promise.id).where(Promise.checkin_id == Checkin.id).limit(1).scalar_subquery()
        return select(Checkin, order_id.label("order_id"), promise_id.label("promise_id"))

    async def record(self, checkin: Checkin) -> CheckinRecord:
        row = (await self.session.execute(self._records().where(Checkin.id == checkin.id))).one()
        return CheckinRecord(row[0], row.order_id, row.promise_id)

    async def get(self, scope: Scope, checkin_id: UUID) -> CheckinRecord:
        stmt = self._records().where(Checkin.id == checkin_id, scope.user_clause(Checkin.rep_id))
        row = (await self.session.execute(stmt)).first()
        if row is None:
            raise not_found("Check-in", checkin_id, "checkin_id")
        return CheckinRecord(row[0], row.order_id, row.promise_id)

    async def list(
        self,
        scope: Scope,
        tz: str,
        rep_id: UUID | None = None,
        customer_id: UUID | None = None,
        from_date: date | None = None,
        to_date: date | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CheckinRecord]:
        """Check-ins the caller may see, newest first; dates are whole days in `tz`, inclusive."""
        if from_date and to_date and from_date > to_date:
            raise reject([{"field": "from", "message": "is after to"}])
        stmt = self._records().where(scope.user_clause(Checkin.rep_id))
        if rep_id is not None:
            stmt = stmt.where(Checkin.rep_id == rep_id)
        if customer_id is not None:
            stmt = stmt.where(Checkin.customer_id == customer_id)
        if from_date is not None:
            stmt = stmt.where(Checkin.checked_in_at >= start_of(from_date, tz))
        if to_date is not None:
            stmt = stmt.where(Checkin.checked_in_at < start_of(to_date + timedelta(days=1), tz))
        stmt = stmt.order_by(Checkin.checked_in_at.desc(), Checkin.id).limit(limit).offset(offset)
        return [
            CheckinRecord(row[0], row.order_id, row.promise_id) for row in await self.session.execute(stmt)
        ]

    async def open_visits(self, rep_id: UUID) -> builtins.list[OpenVisit]:
        """The rep's check-ins without a check-out, newest first (at most one after the rule in
        visits.py, but older data or a replay race may leave more: all are listed to be closed)."""
        rows = await self.session.execute(
            select(Checkin.id, Checkin.customer_id, Customer.name, Checkin.task_id, Checkin.checked_in_at)
            .join(Customer, Customer.id == Checkin.customer_id)
            .where(Checkin.rep_id == rep_id, Checkin.checked_out_at.is_(None))
            .order_by(Checkin.checked_in_at.desc())
        )
        return [OpenVisit(*row) for row in rows]
