"""Monthly revenue history per rep (one GROUP BY over the per rep and day rollup of orders) and the
org tree's sums of it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.org import OrgTree
from server.db.models import Order, User, rep_day_actuals
from server.domain.forecast import add_months, month_key


def month_expr(session: AsyncSession, column: Any = Order.ordered_on) -> ColumnElement[Any]:
    """'YYYY-MM' of a date column (orders.ordered_on by default) on either engine."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


@dataclass
class History:
    """Per rep: month -> revenue (orders before `as_of`; corrections and credit notes count).
    `months` is the dense list of complete months, oldest first; the current month is partial."""

    as_of: date
    months: list[str]
    reps: dict[UUID, UUID]  # rep -> org unit
    amounts: dict[UUID, dict[str, Decimal]] = field(default_factory=dict)
    leaves_of: dict[UUID, list[UUID]] = field(default_factory=dict)  # unit -> reps below it

    def series(self, rep: UUID) -> list[float]:
        row = self.amounts.get(rep, {})
        return [float(row.get(m, 0)) for m in self.months]

    def to_date(self, rep: UUID, month: str) -> Decimal:
        return self.amounts.get(rep, {}).get(month, Decimal(0))


async def load_history(session: AsyncSession, tree: OrgTree, company_id: UUID, as_of: date) -> History:
    """One GROUP BY (rep, month) over the company's orders before `as_of` (from the rollup)."""
    units = tree.subtree(company_id)
    rows_reps = await session.execute(
        select(User.id, User.org_unit_id).where(User.org_unit_id.in_(units), User.role == "rep")
    )
    reps = {rep: unit for rep, unit in rows_reps.tuples() if unit is not None}
    # The per rep and day rollup (kept by triggers, server/db/actuals_rollup.py) instead of every
    # order: its day is the order's ordered_on and its revenue the orders' amounts, so the sums are
    # the same; days whose orders were all deleted keep a row with `orders` 0, left out here so
    # the months with orders are the same too.
    rolled = rep_day_actuals.c
    month = month_expr(session, rolled.day)
    rows = await session.execute(
        select(rolled.rep_id, month.label("month"), func.sum(rolled.revenue))
        .join(User, User.id == rolled.rep_id)
        .where(User.org_unit_id.in_(units), User.role == "rep", rolled.day < as_of, rolled.orders > 0)
        .group_by(rolled.rep_id, month)
    )
    amounts: dict[UUID, dict[str, Decimal]] = defaultdict(dict)
    first: str | None = None
    for rep_id, key, total in rows:
        amounts[rep_id][key] = Decimal(total)
        first = key if first is None or key < first else first
    current = month_key(as_of)
    months: list[str] = []
    if first is not None:
        cursor = first
        while cursor < current:
            months.append(cursor)
            cursor = add_months(cursor, 1)
    leaves_of: dict[UUID, list[UUID]] = {}
    for unit in units:
        below = set(tree.subtree(unit))
        leaves = sorted((rep for rep, rep_unit in reps.items() if rep_unit in below), key=str)
        if leaves:
            leaves_of[unit] = leaves
    return History(as_of=as_of, months=months, reps=reps, amounts=dict(amounts), leaves_of=leaves_of)
