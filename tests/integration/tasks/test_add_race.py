"""Races closed in the database: one open task per (rep, day, customer) however many adds at once,
one order per external_ref however many posts at once; never a 500."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Order, Task
from tests.conftest import DEFAULT_NOW, Demo


async def _a_customer_of(client: AsyncTestClient[Any], headers: dict[str, str]) -> str:
    listing = await client.get("/api/v1/customers", params={"page_size": 5}, headers=headers)
    return str(listing.json()["items"][0]["id"])


async def test_ten_parallel_adds_to_a_day_make_one_task(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rep = await auth("rep1")
    customer = await _a_customer_of(client, rep)
    day = (DEFAULT_NOW + timedelta(days=2)).date()
    answers = await asyncio.gather(
        *(client.post("/api/v1/me/tasks", json={"customer_id": customer, "local_date": day.isoformat()}, headers=rep) for _ in range(10))
    )  # fmt: skip
    statuses = sorted(a.status_code for a in answers)
    assert all(s < 500 for s in statuses), [a.text for a in answers if a.status_code >= 500]
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409, 503}, statuses
    assert len({a.json()["id"] for a in answers if a.status_code in (200, 201)}) == 1
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Task).where(
                Task.rep_id == demo.user("rep1"), Task.customer_id == UUID(customer), Task.local_date == day,
                Task.status.in_(("planned", "snoozed")),
            )
        )  # fmt: skip
    assert count == 1


async def test_twenty_parallel_posts_of_one_external_ref_make_one_order(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    manager = await auth("manager1")
    customer = await _a_customer_of(client, manager)
    body = {
        "customer_id": customer,
        "amount": "1234.50",
        "ordered_on": "2026-11-17",
        "external_ref": "ERP-RACE-1",
    }
    answers = await asyncio.gather(
        *(client.post("/api/v1/orders", json=body, headers=manager) for _ in range(20))
    )
    statuses = sorted(a.status_code for a in answers)
    assert all(s < 500 for s in statuses), [a.text for a in answers if a.status_code >= 500]
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409, 503}, statuses
    async with sessionmaker() as session:
        orders = (await session.scalars(select(Order).where(Order.external_ref == "ERP-RACE-1"))).all()
    assert len(orders) == 1 and str(orders[0].amount) == "1234.50"
