"""Visit policy per company: visit interval days per grade, and the next-due date it implies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Date, SQLColumnExpression, case, func, literal, select, update

from server.core.audit import AuditService
from server.core.org import company_id_for_unit, subtree_cte
from server.core.services import Service
from server.db.models import Customer, OrgUnit, VisitPolicy
from server.domain.grading import Grade
from server.domain.policy import DEFAULT_VISIT_INTERVALS

GRADES: tuple[Grade, ...] = ("A", "B", "C", "D")


def company_units_cte(company_id: UUID) -> Any:
    """Recursive CTE of the company's unit ids (the company and every unit below it)."""
    return subtree_cte(company_id, "company_units")


def next_due_expr(
    dialect: str,
    last_visit: SQLColumnExpression[Any],
    grade: SQLColumnExpression[Any],
    intervals: Mapping[str, int],
    today: date,
) -> ColumnElement[Any]:
    """SQL for domain.policy.next_due: last visit + the grade's interval, or today if never visited."""
    if dialect == "sqlite":
        # SQLite keeps dates as ISO text; date(x, '+7 days') is its date arithmetic.
        modifier = case({g: f"+{intervals[g]} days" for g in GRADES}, value=grade)
        later: ColumnElement[Any] = func.date(last_visit, modifier, type_=Date)
    else:
        # A simple CASE evaluates `grade` once, which matters when it is itself an expression.
        later = last_visit + case({g: intervals[g] for g in GRADES}, value=grade)
    return case((last_visit.is_(None), literal(today, Date)), else_=later)


class VisitPolicyService(Service):
    async def intervals(self, company_id: UUID | None) -> dict[str, int]:
        """Interval days per grade for a company; grades without a row use the defaults."""
        intervals = dict(DEFAULT_VISIT_INTERVALS)
        if company_id is None:
            return intervals
        rows = await self.session.execute(
            select(VisitPolicy.grade, VisitPolicy.interval_days).where(VisitPolicy.company_id == company_id)
        )
        for grade, days in rows:
            if grade in intervals:
                intervals[grade] = days
        return intervals

    async def company_of(self, unit_id: UUID | None) -> UUID | None:
        return None if unit_id is None else await company_id_for_unit(self.session, unit_id)

    async def company_today(self, company_id: UUID) -> date:
        """Grading days are the company's local dates (override expiry, next due, 365-day window)."""
        tz = await self.session.scalar(select(OrgUnit.timezone).where(OrgUnit.id == company_id))
        return self.clock.local_date(tz or "UTC")

    async def update(self, company_id: UUID, intervals: Mapping[str, int], actor_id: UUID) -> dict[str, int]:
        """Replace the company's intervals, then move every customer's next due date to match."""
        before = await self.intervals(company_id)
        existing = {
            row.grade: row
            for row in await self.session.scalars(
                select(VisitPolicy).where(VisitPolicy.company_id == company_id)
            )
        }
        for grade in GRADES:
            if grade in existing:
                existing[grade].interval_days = intervals[grade]
            else:
                self.session.add(
                    VisitPolicy(company_id=company_id, grade=grade, interval_days=intervals[grade])
                )
        await self.session.flush()
        after = await self.intervals(company_id)
        if after != before:
            await self.ctx.get(AuditService).record(
                actor_id, "visit_policy.update", "visit_policies", company_id, dict(before), dict(after)
            )
            await self.refresh_next_due(company_id, after, await self.company_today(company_id))
        return after

    async def refresh_next_due(self, company_id: UUID, intervals: Mapping[str, int], today: date) -> int:
        """Set-based: recompute next_visit_due for the company's customers; writes changed rows only."""
        dialect = self.session.get_bind().dialect.name
        due = next_due_expr(dialect, Customer.last_visit_on, Customer.grade, intervals, today)
        units = company_units_cte(company_id)
        result = await self.session.execute(
            update(Customer)
            .where(
                Customer.org_unit_id.in_(select(units.c.id)),
                Customer.next_visit_due.is_distinct_from(due),
            )
            .values(next_visit_due=due, updated_at=self.clock.now())
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
