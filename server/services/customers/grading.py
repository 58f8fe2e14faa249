"""Nightly customer grading, set-based per company: ABC, RFM, effective grade, next visit due.

One SELECT computes every customer's grading from the trailing 365 days of orders with window
functions (the rules of server.domain.grading, in exact integer arithmetic) and keeps only the
rows whose values differ from what is stored. Those rows go to a temporary table, which then
feeds the grade history INSERT, the list of drops from A (the job tells managers) and the
customers UPDATE. So the orders are read once, and a regrade that changes nothing writes nothing.
The SELECT is built in grading_select.py (shaped per engine); this module stages and writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import structlog
from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    case,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.schema import CreateTable, DropTable

from server.core.org import subtree_unit_ids
from server.core.services import Service
from server.db.models import Customer, GradeChange, OrgUnit
from server.domain.grading import GRADE_DROP_FROM_A
from server.services.customers.grading_select import WRITTEN, Sql, changes, changes_select
from server.services.customers.visit_policy import VisitPolicyService

log = structlog.get_logger("fieldsales.grading")
_AT_TYPE = GradeChange.__table__.c.at.type
OVERRIDE = ("grade_override", "grade_override_reason", "grade_override_until", "grade_override_by")


@dataclass(frozen=True)
class GradeDrop:
    """A customer that lost its A tonight: a signal for the planner and the rep's manager."""

    customer_id: UUID
    name: str
    grade: str
    owner_rep_id: UUID | None
    org_unit_id: UUID
    graded_on: date


@dataclass
class RegradeResult:
    companies: int = 0
    changed: int = 0  # customer rows written
    grade_changes: int = 0  # grade_history rows written
    drops: list[GradeDrop] = field(default_factory=list)

    def __iadd__(self, other: RegradeResult) -> RegradeResult:
        self.companies += other.companies
        self.changed += other.changed
        self.grade_changes += other.grade_changes
        self.drops += other.drops
        return self


class GradingService(Service):
    async def regrade_all(self) -> RegradeResult:
        """Regrade every company as of its own local date."""
        total = RegradeResult()
        company_ids = await self.session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)))
        policy = self.ctx.get(VisitPolicyService)
        for company_id in list(company_ids):
            total += await self.regrade_company(company_id, await policy.company_today(company_id))
        return total

    async def regrade_company(self, company_id: UUID, today: date) -> RegradeResult:
        """Grade one company's customers as of `today`; writes only rows whose values change."""
        sql = Sql(self.session.get_bind().dialect.name)
        now = self.clock.now()
        intervals = await self.ctx.get(VisitPolicyService).intervals(company_id)
        unit_ids = await subtree_unit_ids(self.session, company_id)
        all_units = len(unit_ids) == await self.session.scalar(select(func.count()).select_from(OrgUnit))
        await self._prepare(sql)
        stage = changes_select(sql, unit_ids, today, intervals, all_units)
        await self.session.execute(insert(changes).from_select([c.name for c in changes.c], stage))
        if not sql.sqlite:
            # Without statistics the planner guesses the temp table's size, and may pick a
            # nested loop over customers for the joins below.
            await self.session.execute(text("ANALYZE grading_changes"))
        history = await self.session.execute(_history(sql, now, today))
        drops = [GradeDrop(*row._tuple(), graded_on=today) for row in await self.session.execute(_drops())]
        updated = await self.session.execute(_apply(now))
        await self.session.execute(DropTable(changes))
        result = RegradeResult(
            companies=1,
            changed=int(updated.rowcount or 0),  # type: ignore[attr-defined]
            grade_changes=int(history.rowcount or 0),  # type: ignore[attr-defined]
            drops=drops,
        )
        log.info(
            "regraded",
            company_id=str(company_id),
            today=today.isoformat(),
            changed=result.changed,
            grade_changes=result.grade_changes,
            drops_from_a=len(drops),
        )
        return result

    async def _prepare(self, sql: Sql) -> None:
        if sql.sqlite:
            # A failed run may leave the temp table on this pooled connection (SQLite runs DDL
            # outside the transaction), and SQLite has no UUID generator: register one.
            await self.session.execute(text("DROP TABLE IF EXISTS temp.grading_changes"))
            raw = await (await self.session.connection()).get_raw_connection()
            await raw.driver_connection.create_function("fs_uuid4", 0, _uuid4_bytes)  # type: ignore[union-attr]
        else:
            # This transaction sorts every customer a few times: give the sorts memory rather
            # than spill to disk, and skip JIT, whose compile time (~1 s) exceeds the work.
            await self.session.execute(text("SET LOCAL work_mem = '64MB'"))
            await self.session.execute(text("SET LOCAL jit = off"))
        await self.session.execute(CreateTable(changes))


def _unchanged_override() -> ColumnElement[bool]:
    """The staged row's override is still the stored one. A manager who overrides the grade while
    the regrade runs wins: that row is skipped and graded again the next night."""
    c = changes.c
    return and_(
        Customer.id == c.id,
        Customer.grade_override.is_not_distinct_from(c.old_override),
        Customer.grade_override_until.is_not_distinct_from(c.old_override_until),
    )


def _history(sql: Sql, now: datetime, today: date) -> Any:
    c = changes.c
    signal = case((and_(c.old_grade == "A", c.grade != "A"), GRADE_DROP_FROM_A), else_=null())
    source = case((c.override_expired, "override_expired"), else_="regrade")
    at, graded_on = literal(now, _AT_TYPE), literal(today, Date)
    rows = (
        select(sql.new_id(), c.id, c.old_grade, c.grade, source, at, graded_on, signal)
        .join(Customer, _unchanged_override())
        .where(or_(c.grade != c.old_grade, c.override_expired))
    )
    target = ["id", "customer_id", "old_grade", "new_grade", "source", "at", "graded_on", "signal"]
    return insert(GradeChange).from_select(target, rows)


def _drops() -> Select[UUID, str, str, UUID | None, UUID]:
    c = changes.c
    return (  # in GradeDrop's field order
        select(c.id, Customer.name, c.grade, Customer.owner_rep_id, Customer.org_unit_id)
        .join(Customer, _unchanged_override())
        .where(c.old_grade == "A", c.grade != "A")
        .order_by(c.id)  # notifications in a stable order
    )


def _apply(now: datetime) -> Any:
    c = changes.c
    cleared = {
        name: case((c.override_expired, null()), else_=Customer.__table__.c[name]) for name in OVERRIDE
    }
    return (
        update(Customer)
        .where(_unchanged_override())
        .values(**{name: c[name] for name in WRITTEN}, **cleared, graded_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _uuid4_bytes() -> bytes:
    return uuid4().bytes
