"""The aggregate queries behind actuals: one GROUP BY per metric over many scopes at once.

Rules (what counts) are described in server/services/plans/progress.py and docs/plans.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from server.db.models import Checkin, Customer, Order, User


def utc_window(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """[first local midnight, midnight after the last day) of a local-date period, in UTC."""
    zone = ZoneInfo(timezone)
    begin = datetime.combine(start, time.min, zone).astimezone(UTC)
    finish = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC)
    return begin, finish


def revenue_query(scope: str, keys: Sequence[UUID], start: date, end: date) -> Any:
    in_period = Order.ordered_on.between(start, end)
    if scope == "user":
        return (
            select(Order.rep_id, func.sum(Order.amount))
            .where(Order.rep_id.in_(keys), in_period)
            .group_by(Order.rep_id)
        )
    if scope == "customer":
        key = Order.customer_id
        return select(key, func.sum(Order.amount)).where(key.in_(keys), in_period).group_by(key)
    # An order belongs to its rep's unit; an order without a rep to its customer's unit.
    unit = func.coalesce(User.org_unit_id, Customer.org_unit_id)
    return (
        select(unit, func.sum(Order.amount))
        .select_from(Order)
        .outerjoin(User, User.id == Order.rep_id)
        .outerjoin(Customer, and_(Order.rep_id.is_(None), Customer.id == Order.customer_id))
        .where(in_period, unit.in_(keys))
        .group_by(unit)
    )


def visits_query(scope: str, keys: Sequence[UUID], begin: datetime, finish: datetime) -> Any:
    done = and_(
        Checkin.checked_out_at.is_not(None), Checkin.checked_in_at >= begin, Checkin.checked_in_at < finish
    )
    if scope in ("user", "customer"):
        key = Checkin.rep_id if scope == "user" else Checkin.customer_id
        return select(key, func.count(Checkin.id)).where(key.in_(keys), done).group_by(key)
    return (
        select(User.org_unit_id, func.count(Checkin.id))
        .join(User, User.id == Checkin.rep_id)
        .where(done, User.org_unit_id.in_(keys))
        .group_by(User.org_unit_id)
    )


def new_customers_query(scope: str, keys: Sequence[UUID], start: date, end: date) -> Any:
    earlier = aliased(Order)
    first_order_in_period = select(Order.customer_id).where(
        Order.ordered_on.between(start, end),
        ~exists().where(earlier.customer_id == Order.customer_id, earlier.ordered_on < start),
    )
    key = {"user": Customer.owner_rep_id, "customer": Customer.id, "org_unit": Customer.org_unit_id}[scope]
    return (
        select(key, func.count(Customer.id))
        .where(key.in_(keys), Customer.id.in_(first_order_in_period))
        .group_by(key)
    )
