"""Customers as the caller may see them: scoped lists, details with the grade explained, overrides."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import aliased

from server.core.access import Principal, Scope
from server.core.audit import AuditService
from server.core.errors import field_error
from server.core.i18n import format_date, format_percent
from server.core.i18n import gettext as _
from server.core.services import Service
from server.db.models import Checkin, Customer, GradeChange, Order, User
from server.domain.grading import Grade, effective_grade, grade_change_signal
from server.domain.policy import next_due, overdue_ratio
from server.services.customers.visit_policy import GRADES, VisitPolicyService, company_units_cte

_OWNER = aliased(User)
# Sort keys -> ORDER BY; name and id last so pages are stable.
SORTS: dict[str, tuple[Any, ...]] = {
    "name": (Customer.name,),
    "-name": (Customer.name.desc(),),
    "grade": (Customer.grade,),
    "-grade": (Customer.grade.desc(),),
    "revenue": (Customer.revenue_365.asc().nulls_first(),),
    "-revenue": (Customer.revenue_365.desc().nulls_last(),),
    "next_due": (Customer.next_visit_due.asc().nulls_first(),),
    "-next_due": (Customer.next_visit_due.desc().nulls_last(),),
    "last_visit": (Customer.last_visit_on.asc().nulls_first(),),
    "-last_visit": (Customer.last_visit_on.desc().nulls_last(),),
}


@dataclass(frozen=True)
class CustomerFilters:
    grade: str | None = None
    owner_rep_id: UUID | None = None
    overdue: bool = False
    q: str | None = None
    sort: str = "name"


@dataclass(frozen=True)
class CustomerRow:
    customer: Customer
    owner_name: str | None
    interval_days: int
    next_due: date
    overdue_ratio: float

    @property
    def overdue(self) -> bool:
        return self.customer.status != "closed" and self.overdue_ratio > 1


@dataclass
class CustomerPage:
    rows: list[CustomerRow]
    total: int
    limit: int
    offset: int

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


@dataclass
class CustomerDetail:
    row: CustomerRow
    today: date
    richer_share: Decimal | None  # share of revenue held by customers richer than this one
    orders_365: int
    override_by: str | None
    visits: list[Any] = field(default_factory=list)  # (Checkin, rep name)
    orders: list[Order] = field(default_factory=list)
    history: list[Any] = field(default_factory=list)  # (GradeChange, changed-by name)


def overdue_clause(intervals: dict[str, int], today: date) -> ColumnElement[bool]:
    """SQL for domain.policy.overdue_ratio(...) > 1: never visited, or last visit + interval < today."""
    late = (
        and_(Customer.grade == g, Customer.last_visit_on < today - timedelta(days=intervals[g]))
        for g in GRADES
    )
    return and_(Customer.status != "closed", or_(Customer.last_visit_on.is_(None), *late))


class CustomersService(Service):
    async def _policy(self, principal: Principal) -> tuple[dict[str, int], date]:
        policy = self.ctx.get(VisitPolicyService)
        intervals = await policy.intervals(await policy.company_of(principal.org_unit_id))
        return intervals, self.clock.local_date(principal.timezone)

    def _row(
        self, customer: Customer, owner: str | None, intervals: dict[str, int], today: date
    ) -> CustomerRow:
        interval = intervals.get(customer.grade, intervals["D"])
        since = None if customer.last_visit_on is None else (today - customer.last_visit_on).days
        return CustomerRow(
            customer=customer,
            owner_name=owner,
            interval_days=interval,
            next_due=next_due(customer.last_visit_on, interval, today),
            overdue_ratio=overdue_ratio(since, interval),
        )

    async def list(
        self, access: Scope, filters: CustomerFilters, limit: int | None, offset: int = 0
    ) -> CustomerPage:
        """`limit` customers from `offset` of those the caller sees, filtered and sorted (None: all)."""
        if filters.sort not in SORTS:
            raise field_error("sort", f"must be one of {', '.join(SORTS)}", 400)
        intervals, today = await self._policy(access.principal)
        where = [access.customer_clause(Customer)]
        if filters.grade:
            where.append(Customer.grade == filters.grade)
        if filters.owner_rep_id:
            where.append(Customer.owner_rep_id == filters.owner_rep_id)
        if filters.overdue:
            where.append(overdue_clause(intervals, today))
        if filters.q:
            where.append(Customer.name.icontains(filters.q.strip(), autoescape=True))
        total = await self.session.scalar(select(func.count()).select_from(Customer).where(*where))
        stmt = (
            select(Customer, _OWNER.name)
            .outerjoin(_OWNER, _OWNER.id == Customer.owner_rep_id)
            .where(*where)
            .order_by(*SORTS[filters.sort], Customer.name, Customer.id)
        )
        if limit:
            stmt = stmt.offset(offset).limit(limit)
        rows = [self._row(c, owner, intervals, today) for c, owner in await self.session.execute(stmt)]
        return CustomerPage(rows=rows, total=int(total or 0), limit=limit or len(rows) or 1, offset=offset)

    async def owners(self, access: Scope) -> builtins.list[tuple[UUID, str]]:
        """Reps the caller sees, for the owner filter."""
        stmt = select(User.id, User.name).where(User.role == "rep", access.user_clause(User.id))
        return [(row.id, row.name) for row in await self.session.execute(stmt.order_by(User.name))]

    async def get(self, access: Scope, customer_id: UUID) -> Customer | None:
        """The customer if the caller may see it (out of scope looks the same as missing)."""
        return await self.session.scalar(
            select(Customer).where(Customer.id == customer_id, access.customer_clause(Customer))
        )

    async def detail(self, access: Scope, customer_id: UUID) -> CustomerDetail | None:
        customer = await self.get(access, customer_id)
        if customer is None:
            return None
        intervals, today = await self._policy(access.principal)
        names: dict[UUID | None, str] = dict(
            (await self.session.execute(
                select(User.id, User.name).where(
                    User.id.in_({customer.owner_rep_id, customer.grade_override_by} - {None})
                )
            )).tuples().all()
        )  # fmt: skip
        visits = await self.session.execute(
            select(Checkin, User.name)
            .join(User, User.id == Checkin.rep_id)
            .where(Checkin.customer_id == customer.id)
            .order_by(Checkin.checked_in_at.desc())
            .limit(10)
        )
        orders = await self.session.scalars(
            select(Order).where(Order.customer_id == customer.id).order_by(Order.ordered_on.desc()).limit(10)
        )
        changer = aliased(User)
        history = await self.session.execute(
            select(GradeChange, changer.name)
            .outerjoin(changer, changer.id == GradeChange.changed_by)
            .where(GradeChange.customer_id == customer.id)
            .order_by(GradeChange.at.desc())
            .limit(10)
        )
        orders_365 = await self.session.scalar(
            select(func.count()).where(
                Order.customer_id == customer.id,
                Order.ordered_on > today - timedelta(days=365),
                Order.ordered_on <= today,
            )
        )
        return CustomerDetail(
            row=self._row(customer, names.get(customer.owner_rep_id), intervals, today),
            today=today,
            richer_share=await self._richer_share(customer),
            orders_365=int(orders_365 or 0),
            override_by=names.get(customer.grade_override_by),
            visits=list(visits.tuples()),
            orders=list(orders),
            history=list(history.tuples()),
        )

    async def _richer_share(self, customer: Customer) -> Decimal | None:
        """Revenue share of the company's customers richer than this one (what decides A/B/C)."""
        if not customer.revenue_365 or customer.revenue_365 <= 0:
            return None
        company_id = await self.ctx.get(VisitPolicyService).company_of(customer.org_unit_id)
        if company_id is None:
            return None
        units = company_units_cte(company_id)
        revenue = Customer.revenue_365
        richer, total = (
            await self.session.execute(
                select(
                    func.sum(case((revenue > customer.revenue_365, revenue), else_=0)), func.sum(revenue)
                ).where(Customer.org_unit_id.in_(select(units.c.id)), revenue > 0)
            )
        ).one()
        if not total:
            return None
        return (Decimal(str(richer or 0)) / Decimal(str(total))).quantize(Decimal("0.000001"))

    async def set_override(
        self,
        access: Scope,
        customer_id: UUID,
        grade: Grade | None,
        reason: str | None,
        until: date | None,
    ) -> Customer | None:
        """Set or clear a manager's grade override; None if the caller cannot see the customer."""
        customer = await self.get(access, customer_id)
        if customer is None:
            return None
        policy = self.ctx.get(VisitPolicyService)
        company_id = await policy.company_of(customer.org_unit_id)
        today = await policy.company_today(company_id) if company_id else self.clock.now().date()
        reason = (reason or "").strip() or None
        if grade is None and until is not None:
            raise field_error("until", "only applies together with a grade_override")
        if grade is not None and reason is None:
            raise field_error("reason", "is required when overriding a grade")
        if until is not None and until < today:
            raise field_error("until", f"must be today ({today.isoformat()}) or later")
        current = (customer.grade_override, customer.grade_override_reason, customer.grade_override_until)
        if (grade is None and customer.grade_override is None) or current == (grade, reason, until):
            return customer  # nothing to change, nothing written
        old = customer.grade
        before = {"grade": old, "override": customer.grade_override, "until": customer.grade_override_until}
        customer.grade_override, customer.grade_override_reason = grade, reason
        customer.grade_override_until = until
        customer.grade_override_by = access.principal.id if grade else None
        computed: Grade = customer.computed_grade or "D"  # type: ignore[assignment]
        customer.grade = effective_grade(computed, grade, until, today)
        interval = (await policy.intervals(company_id))[customer.grade]
        customer.next_visit_due = next_due(customer.last_visit_on, interval, today)
        customer.updated_at = self.clock.now()
        self.session.add(
            GradeChange(
                customer_id=customer.id,
                old_grade=old,
                new_grade=customer.grade,
                source="override",
                reason=reason,
                changed_by=access.principal.id,
                at=self.clock.now(),
                graded_on=today,
                signal=grade_change_signal(old, customer.grade),  # type: ignore[arg-type]
            )
        )
        after = {"grade": customer.grade, "override": grade, "until": until, "reason": reason}
        await self.ctx.get(AuditService).record(
            access.principal.id, "customer.grade_override", "customers", customer.id, before, after
        )
        return customer


def explain(detail: CustomerDetail) -> list[str]:
    """The grade and the visit cadence in plain words (same text in the API and on the page)."""
    c, row = detail.row.customer, detail.row
    lines: list[str] = []
    if c.grade_override and c.grade == c.grade_override:
        until = c.grade_override_until.isoformat() if c.grade_override_until else _("further notice")
        lines.append(
            _("Grade %(grade)s set by %(who)s until %(until)s: %(reason)s", grade=c.grade,
              who=detail.override_by or _("a manager"), until=until, reason=c.grade_override_reason or "")
        )  # fmt: skip
    if c.computed_grade is None:
        lines.append(_("Not graded yet: grades are computed every night."))
    elif not c.revenue_365 or c.revenue_365 <= 0:
        lines.append(_("No revenue in the last 365 days, so the computed grade is D."))
    else:
        lines.append(
            _("Computed grade %(grade)s: %(share)s of the company's revenue over the last 365 days; "
              "customers with more revenue hold %(richer)s. A covers the top 80%%, B the next 15%%.",
              grade=c.computed_grade, share=format_percent(c.revenue_share, 2),
              richer=format_percent(detail.richer_share, 1))
        )  # fmt: skip
    if c.r_score is not None:
        lines.append(
            _("RFM %(r)s-%(f)s-%(m)s (recency, frequency, monetary; 5 is the best fifth of the company) "
              "from %(orders)s orders in the last 365 days.",
              r=c.r_score, f=c.f_score, m=c.m_score, orders=detail.orders_365)
        )  # fmt: skip
    if c.last_visit_on is None:
        lines.append(_("Never visited: a first visit is due now."))
    else:
        lines.append(
            _("Grade %(grade)s is visited every %(days)s days; last visit %(last)s, next due %(due)s "
              "(%(ratio)s of the interval elapsed).",
              grade=c.grade, days=row.interval_days, last=format_date(c.last_visit_on),
              due=format_date(row.next_due), ratio=format_percent(row.overdue_ratio))
        )  # fmt: skip
    return lines
