"""Planned vs achieved for reps' weekly plans, and the gap a rep writes their plan against.

Achieved, over the plan's week in the rep's time zone (docs/rep_plans.md):
- revenue: SUM(orders.amount); orders: COUNT(orders) — ordered_on in the week;
- visits: completed check-ins checked in during the week;
- new_customers: customers created in the week or whose first order ever falls in it;
each for the rep (orders they took, visits they made, customers they own), or for the linked
customer when the item names one; custom: the number the rep entered.
One grouped query per metric and key for every plan of a (week, time zone) at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased

from server.core.services import Service
from server.db.models import Customer, Order, RepPlan, RepPlanItem
from server.domain.pace import Progress
from server.services.plans.actuals import revenue_query, utc_window, visits_query
from server.services.plans.progress import ProgressService
from server.services.reviews.plan import PlanBook

ZERO = Decimal(0)
GAP_METRICS = ("revenue", "visits", "new_customers")
# (metric, key kind "user" | "customer", key id) -> the measured number
Measured = dict[tuple[str, str, UUID], Decimal]


@dataclass(frozen=True)
class MonthGap:
    """One metric's month target, as the pace rule sees it today."""

    metric: str
    target: Decimal
    actual: Decimal
    expected: Decimal
    remaining: Decimal
    status: str
    working_days_left: int
    daily_run_rate: Decimal | None


@dataclass(frozen=True)
class Gap:
    """What the rep writes their plan against: the week's revenue share and the month targets."""

    week_plan: Decimal | None
    week_actual: Decimal
    months: list[MonthGap]

    @property
    def week_remaining(self) -> Decimal | None:
        return max(ZERO, self.week_plan - self.week_actual) if self.week_plan is not None else None


def _month_gap(metric: str, target: Decimal, actual: Decimal, progress: Progress) -> MonthGap:
    return MonthGap(
        metric,
        target,
        actual,
        progress.expected_to_date,
        progress.remaining_gap,
        progress.status.value,
        progress.working_days_left,
        progress.required_daily_run_rate,
    )


class RepPlanResults(Service):
    async def gap(self, rep_id: UUID, timezone: str, week_start: date, today: date) -> Gap:
        """The week's revenue plan (its working-day share of the month target) and actual so far,
        and each month target (revenue, visits, new customers) of the month holding `as_of`."""
        week_end = week_start + timedelta(days=6)
        as_of = min(max(today, week_start), week_end)
        book = PlanBook(self.ctx, "user", [rep_id])
        week_plan = (await book.expected_between(week_start, week_end)).get(rep_id)
        upto = min(today, week_end)
        week_actual = ZERO
        if upto >= week_start:
            row = (await self.session.execute(revenue_query("user", [rep_id], week_start, upto))).first()
            week_actual = Decimal(row[1]) if row and row[1] is not None else ZERO
        progress = self.ctx.get(ProgressService)
        months = []
        for metric in GAP_METRICS:
            item = await progress.for_one("user", rep_id, as_of, metric, "month")
            if item is not None:
                months.append(_month_gap(metric, item.target, item.actual, item.progress))
        return Gap(week_plan, week_actual, months)

    async def measured(self, plans: Sequence[tuple[RepPlan, str]], items: Sequence[RepPlanItem]) -> Measured:
        """The measured number of every measurable item, keyed (metric, "user"|"customer", id)."""
        by_plan = {plan.id: (plan, tz) for plan, tz in plans}
        wanted: dict[tuple[date, str], dict[tuple[str, str], set[UUID]]] = defaultdict(
            lambda: defaultdict(set)
        )
        for item in items:
            if item.metric == "custom" or item.plan_id not in by_plan:
                continue
            plan, tz = by_plan[item.plan_id]
            key = ("customer", item.customer_id) if item.customer_id else ("user", plan.rep_id)
            wanted[(plan.week_start, tz)][(item.metric, key[0])].add(key[1])
        result: Measured = {}
        for (week_start, tz), asks in wanted.items():
            for (metric, kind), ids in asks.items():
                values = await self._measure(metric, kind, sorted(ids), week_start, tz)
                for key_id in ids:
                    result[(metric, kind, key_id)] = values.get(key_id, ZERO)
        return result

    async def _measure(
        self, metric: str, kind: str, ids: list[UUID], week_start: date, tz: str
    ) -> dict[UUID, Decimal]:
        week_end = week_start + timedelta(days=6)
        begin, finish = utc_window(week_start, week_end, tz)
        statement: Any
        if metric == "revenue":
            statement = revenue_query(kind, ids, week_start, week_end)
        elif metric == "visits":
            statement = visits_query(kind, ids, begin, finish)
        elif metric == "orders":
            key = Order.rep_id if kind == "user" else Order.customer_id
            statement = (
                select(key, func.count(Order.id))
                .where(key.in_(ids), Order.ordered_on.between(week_start, week_end))
                .group_by(key)
            )
        else:
            earlier = aliased(Order)
            first_order_in_week = select(Order.customer_id).where(
                Order.ordered_on.between(week_start, week_end),
                ~exists().where(earlier.customer_id == Order.customer_id, earlier.ordered_on < week_start),
            )
            customer_key = Customer.owner_rep_id if kind == "user" else Customer.id
            statement = (
                select(customer_key, func.count(Customer.id))
                .where(
                    customer_key.in_(ids),
                    or_(
                        Customer.created_at.between(begin, finish - timedelta(microseconds=1)),
                        Customer.id.in_(first_order_in_week),
                    ),
                )
                .group_by(customer_key)
            )
        rows = await self.session.execute(statement)
        return {row[0]: Decimal(row[1] or 0) for row in rows}
