"""GET /api/v1/progress: the caller's own pace by default, raw-order numbers, bad input named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Order, Target
from tests.conftest import Demo


async def test_rep_sees_own_month_pace_matching_raw_orders(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    rep1 = demo.user("rep1")
    response = await client.get("/api/v1/progress", headers=await auth("rep1"))  # as_of: today in Shanghai
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "user" and body["scope_id"] == str(rep1) and body["as_of"] == "2026-11-18"
    raw = await session.scalar(
        select(func.sum(Order.amount)).where(
            Order.rep_id == rep1,
            Order.ordered_on >= date(2026, 11, 1),
            Order.ordered_on <= date(2026, 11, 18),
        )
    )
    assert Decimal(body["actual"]) == raw
    assert Decimal(body["expected_to_date"]) == (Decimal(body["target"]) * 13 / 21).quantize(Decimal("0.01"))
    assert body["status"] in {"green", "yellow", "orange", "red"}
    assert body["working_days_left"] == 8

    year = await client.get(
        f"/api/v1/progress?granularity=year&as_of=2026-11-18&scope_id={rep1}", headers=await auth("manager1")
    )
    assert year.status_code == 200 and year.json()["period_start"] == "2026-01-01"


async def test_draft_targets_do_not_count(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    await session.execute(
        update(Target)
        .where(
            Target.scope_id == demo.user("rep1"), Target.granularity == "month", Target.metric == "revenue"
        )
        .values(status="draft")
    )
    await session.commit()
    response = await client.get("/api/v1/progress?as_of=2026-11-18", headers=await auth("rep1"))
    assert response.status_code == 404 and "No approved" in response.json()["detail"]


async def test_bad_progress_queries_name_the_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    headers = await auth("exec")
    for query, status, field in (
        ("as_of=2026-02-30", 400, "as_of"),
        ("metric=profit", 400, "metric"),
        ("granularity=day", 400, "granularity"),
        ("scope=org_unit", 422, "scope_id"),
        ("scope=planet&scope_id=" + str(demo.company_id), 400, "scope"),
        ("scope_id=nope", 400, "scope_id"),
    ):
        response = await client.get(f"/api/v1/progress?{query}", headers=headers)
        assert response.status_code == status, (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, (query, response.json())
