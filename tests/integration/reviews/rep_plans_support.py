"""Helpers for the rep plan tests (no tests here): the demo week, items, and the actuals recomputed
from the raw rows with plain loops."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import Checkin, Customer, Order

API = "/api/v1/rep-plans"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 16)  # now is Wed 18 Nov 10:00 in Shanghai: week 2026-W47
SUNDAY = MONDAY + timedelta(days=6)
WEEK = "2026-W47"


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), SHANGHAI).isoformat()


def item(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": title} | extra


async def create(client: AsyncTestClient[Any], headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def act(
    client: AsyncTestClient[Any], headers: dict[str, str], plan_id: str, step: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(f"{API}/{plan_id}/{step}", json=body or None, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def week_actuals(engine: AsyncEngine, rep_id: UUID, customer_id: UUID) -> dict[str, Decimal]:
    """Revenue and orders of the rep, and orders and visits at the customer, in the Shanghai week."""
    async with engine.connect() as connection:
        orders = (
            await connection.execute(select(Order.rep_id, Order.customer_id, Order.amount, Order.ordered_on))
        ).all()
        visits = (
            await connection.execute(
                select(Checkin.customer_id, Checkin.checked_in_at, Checkin.checked_out_at)
            )
        ).all()
    in_week = [o for o in orders if MONDAY <= o.ordered_on <= SUNDAY]
    done_visits = [
        v
        for v in visits
        if v.checked_out_at is not None
        and MONDAY <= v.checked_in_at.astimezone(SHANGHAI).date() <= SUNDAY
        and v.customer_id == customer_id
    ]
    return {
        "rep_revenue": sum((Decimal(o.amount) for o in in_week if o.rep_id == rep_id), Decimal(0)),
        "rep_orders": Decimal(sum(1 for o in in_week if o.rep_id == rep_id)),
        "customer_orders": Decimal(sum(1 for o in in_week if o.customer_id == customer_id)),
        "customer_visits": Decimal(len(done_visits)),
    }


async def rep_new_customers(engine: AsyncEngine, rep_id: UUID) -> Decimal:
    """The rep's customers created in the week or with their first order in it."""
    async with engine.connect() as connection:
        customers = (
            await connection.execute(
                select(Customer.id, Customer.created_at).where(Customer.owner_rep_id == rep_id)
            )
        ).all()
        orders = (await connection.execute(select(Order.customer_id, Order.ordered_on))).all()
    first: dict[UUID, date] = {}
    for customer_id, ordered_on in orders:
        first[customer_id] = min(first.get(customer_id, ordered_on), ordered_on)
    begin = datetime.combine(MONDAY, time.min, SHANGHAI).astimezone(UTC)
    end = begin + timedelta(days=7)
    count = 0
    for customer_id, created_at in customers:
        created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        if begin <= created < end or MONDAY <= first.get(customer_id, date.min) <= SUNDAY:
            count += 1
    return Decimal(count)
