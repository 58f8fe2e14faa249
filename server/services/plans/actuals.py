"""The aggregate queries behind actuals: one GROUP BY per metric over many scopes at once.

Rules (what counts) are described in server/services/plans/progress.py and docs/plans.md.
Reps' and units' revenue and visits read the per rep and day rollup rep_day_actuals (kept by
triggers: server/db/actuals_rollup.py) instead of every order and check-in of the period; what
the rollup leaves out is read raw: orders without a rep, and the check-ins of the partial UTC days
at the edges of a period in a time zone other than UTC. Customers' actuals read raw rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select, union_all
from sqlalchemy.orm import aliased

from server.db.id_lists import among
from server.db.models import Checkin, Customer, Order, User, rep_day_actuals

_rolled = rep_day_actuals.c


def utc_window(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """[first local midnight, midnight after the last day) of a local-date period, in UTC."""
    zone = ZoneInfo(timezone)
    begin = datetime.combine(start, time.min, zone).astimezone(UTC)
    finish = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC)
    return begin, finish


def whole_utc_days(begin: datetime, finish: datetime) -> tuple[date, date, list[tuple[datetime, datetime]]]:
    """Split [begin, finish) into whole UTC days [first, stop) and the partial hours left at
    its edges (at most two ranges; none when both ends fall on UTC midnight)."""
    begin, finish = begin.astimezone(UTC), finish.astimezone(UTC)
    first = begin.date() if begin.time() == time.min else begin.date() + timedelta(days=1)
    stop = finish.date()
    if first >= stop:  # not one whole UTC day inside: all of it is an edge
        return first, first, [(begin, finish)] if begin < finish else []
    first_at = datetime.combine(first, time.min, UTC)
    stop_at = datetime.combine(stop, time.min, UTC)
    edges = [(low, high) for low, high in ((begin, first_at), (stop_at, finish)) if low < high]
    return first, stop, edges


def _summed(*parts: Any) -> Any:
    """SUM per key over the (key, value) rows of several selects."""
    rows = union_all(*parts).subquery()
    return select(rows.c.key, func.sum(rows.c.value)).group_by(rows.c.key)


def revenue_query(scope: str, keys: Sequence[UUID], start: date, end: date) -> Any:
    if scope == "customer":
        key = Order.customer_id
        in_period = Order.ordered_on.between(start, end)
        return select(key, func.sum(Order.amount)).where(among(key, keys), in_period).group_by(key)
    rolled_days = _rolled.day.between(start, end)
    if scope == "user":
        return (
            select(_rolled.rep_id, func.sum(_rolled.revenue))
            .where(among(_rolled.rep_id, keys), rolled_days)
            .group_by(_rolled.rep_id)
        )
    # An order belongs to its rep's (current) unit; an order without a rep to its customer's unit.
    by_reps = (
        select(User.org_unit_id.label("key"), func.sum(_rolled.revenue).label("value"))
        .select_from(rep_day_actuals)
        .join(User, User.id == _rolled.rep_id)
        .where(rolled_days, among(User.org_unit_id, keys))
        .group_by(User.org_unit_id)
    )
    without_rep = (
        select(Customer.org_unit_id.label("key"), func.sum(Order.amount).label("value"))
        .select_from(Order)
        .join(Customer, Customer.id == Order.customer_id)
        .where(
            Order.rep_id.is_(None), Order.ordered_on.between(start, end), among(Customer.org_unit_id, keys)
        )
        .group_by(Customer.org_unit_id)
    )
    return _summed(by_reps, without_rep)


def visits_query(scope: str, keys: Sequence[UUID], begin: datetime, finish: datetime) -> Any:
    """Completed check-ins checked in during [begin, finish) (UTC instants)."""
    if scope == "customer":
        done = and_(
            Checkin.checked_out_at.is_not(None),
            Checkin.checked_in_at >= begin,
            Checkin.checked_in_at < finish,
        )
        key = Checkin.customer_id
        return select(key, func.count(Checkin.id)).where(among(key, keys), done).group_by(key)
    first, stop, edges = whole_utc_days(begin, finish)
    unit = scope == "org_unit"
    rolled_key = User.org_unit_id if unit else _rolled.rep_id
    rolled = select(rolled_key.label("key"), func.sum(_rolled.visits).label("value")).where(
        among(rolled_key, keys), _rolled.day >= first, _rolled.day < stop
    )
    if unit:
        rolled = rolled.select_from(rep_day_actuals).join(User, User.id == _rolled.rep_id)
    parts = [rolled.group_by(rolled_key)]
    raw_key = User.org_unit_id if unit else Checkin.rep_id
    for low, high in edges:  # one select per edge: each a range of one index (an OR is not)
        raw = select(raw_key.label("key"), func.count().label("value")).where(
            among(raw_key, keys),
            Checkin.checked_out_at.is_not(None),
            Checkin.checked_in_at >= low,
            Checkin.checked_in_at < high,
        )
        if unit:
            raw = raw.select_from(Checkin).join(User, User.id == Checkin.rep_id)
        parts.append(raw.group_by(raw_key))
    return _summed(*parts)


def new_customers_query(scope: str, keys: Sequence[UUID], start: date, end: date) -> Any:
    earlier = aliased(Order)
    first_order_in_period = select(Order.customer_id).where(
        Order.ordered_on.between(start, end),
        ~exists().where(earlier.customer_id == Order.customer_id, earlier.ordered_on < start),
    )
    key = {"user": Customer.owner_rep_id, "customer": Customer.id, "org_unit": Customer.org_unit_id}[scope]
    return (
        select(key, func.count(Customer.id))
        .where(among(key, keys), Customer.id.in_(first_order_in_period))
        .group_by(key)
    )
