"""POST/GET /api/v1/orders: idempotent by external_ref, validated, audited, and counted in progress."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import AuditEntry, Customer, Order
from tests.conftest import Demo


async def rep1_customer(session: AsyncSession, demo: Demo) -> Any:
    return await session.scalar(
        select(Customer.id).where(Customer.owner_rep_id == demo.user("rep1")).limit(1)
    )


async def test_post_is_idempotent_by_external_ref_and_moves_progress(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager = await auth("manager1")
    customer = await rep1_customer(session, demo)
    before = (await client.get("/api/v1/progress?as_of=2026-11-18", headers=await auth("rep1"))).json()
    body = {
        "external_ref": "ERP-77",
        "customer_id": str(customer),
        "amount": "2500.00",
        "ordered_on": "2026-11-18",
    }

    created = await client.post("/api/v1/orders", headers=manager, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["outcome"] == "created" and created.json()["rep_id"] == str(demo.user("rep1"))
    replay = await client.post("/api/v1/orders", headers=manager, json=body)
    assert replay.status_code == 200 and replay.json()["outcome"] == "unchanged"
    changed = await client.post("/api/v1/orders", headers=manager, json={**body, "amount": "2600.00"})
    assert changed.status_code == 200 and changed.json()["outcome"] == "updated"
    assert (
        await session.scalar(select(func.count()).select_from(Order).where(Order.external_ref == "ERP-77"))
        == 1
    )

    after = (await client.get("/api/v1/progress?as_of=2026-11-18", headers=await auth("rep1"))).json()
    assert Decimal(after["actual"]) - Decimal(before["actual"]) == Decimal("2600.00")
    listed = (await client.get("/api/v1/orders?from=2026-11-18&to=2026-11-18", headers=manager)).json()
    assert "ERP-77" in {o["external_ref"] for o in listed}
    csv = await client.get("/api/v1/orders?from=2026-11-18&format=csv", headers=manager)
    assert csv.headers["content-type"].startswith("text/csv") and "ERP-77" in csv.text
    actions = (await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "order"))).all()
    assert sorted(actions) == ["order.created", "order.updated"]


async def test_bad_orders_name_the_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager = await auth("manager1")
    good = {
        "customer_id": str(await rep1_customer(session, demo)),
        "amount": "10",
        "ordered_on": "2026-11-17",
    }
    for change, status, field in (
        ({"amount": "-10"}, 422, "amount"),
        ({"amount": "0"}, 422, "amount"),
        ({"amount": "1.005"}, 422, "amount"),
        ({"ordered_on": "2026-11-31"}, 400, "ordered_on"),
        ({"ordered_on": "2027-01-05"}, 422, "ordered_on"),
        ({"currency": "usd"}, 422, "currency"),
        ({"customer_id": "00000000-0000-4000-8000-000000000000"}, 404, "customer_id"),
        ({"colour": "red"}, 400, "colour"),
    ):
        response = await client.post("/api/v1/orders", headers=manager, json={**good, **change})
        assert response.status_code == status, (change, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}, (change, response.json())
    assert (await client.post("/api/v1/orders", headers=await auth("rep1"), json=good)).status_code == 403
