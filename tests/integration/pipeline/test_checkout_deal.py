"""A check-out creates or advances a deal; its replay never acts twice (both engines)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import Opportunity, OpportunityStageChange
from tests.conftest import DEFAULT_NOW, Demo
from tests.integration.checkins.test_checkins_support import API, checkin_body, count_rows, customers_of

CHECK_IN, CHECK_OUT = DEFAULT_NOW - timedelta(minutes=30), DEFAULT_NOW - timedelta(minutes=5)


async def visit(
    client: AsyncTestClient[Any], headers: dict[str, str], engine: AsyncEngine, demo: Demo, n: int
) -> tuple[str, UUID]:
    place = (await customers_of(engine, demo.user("rep1"), n + 1))[n]
    response = await client.post(API, json=checkin_body(place, CHECK_IN), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), place.id


def checkout(**deal: Any) -> dict[str, Any]:
    return {"checked_out_at": CHECK_OUT.isoformat(), "outcome": "follow_up", "opportunity": deal}


async def test_checkout_advances_a_deal_once(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine
) -> None:
    headers = await auth("rep1")
    checkin_id, customer_id = await visit(client, headers, engine, demo, 0)
    made = await client.post(
        "/api/v1/opportunities",
        json={"customer_id": str(customer_id), "title": "Shelf expansion", "amount": "3000"},
        headers=headers,
    )
    deal_id = made.json()["opportunity"]["id"]
    body = checkout(id=deal_id, stage="Proposal", expected_close="2026-12-05")
    first = await client.post(f"{API}/{checkin_id}/checkout", json=body, headers=headers)
    assert first.status_code == 200, first.text
    replay = await client.post(f"{API}/{checkin_id}/checkout", json=body, headers=headers)
    assert replay.status_code == 200
    detail = (await client.get(f"/api/v1/opportunities/{deal_id}", headers=headers)).json()
    assert (detail["opportunity"]["stage"], detail["opportunity"]["probability"]) == ("Proposal", 50)
    assert detail["opportunity"]["expected_close"] == "2026-12-05"
    assert [(h["to_stage"], h["checkin_id"]) for h in detail["history"]] == [
        ("Lead", None),
        ("Proposal", checkin_id),
    ]
    assert (
        await count_rows(
            engine, OpportunityStageChange, OpportunityStageChange.checkin_id == UUID(checkin_id)
        )
        == 1
    )


async def test_checkout_creates_a_deal_once_and_names_bad_fields(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine
) -> None:
    headers = await auth("rep1")
    checkin_id, customer_id = await visit(client, headers, engine, demo, 1)
    missing = await client.post(
        f"{API}/{checkin_id}/checkout", json=checkout(stage="Qualified"), headers=headers
    )
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"opportunity.title", "opportunity.amount"}
    unknown = await client.post(
        f"{API}/{checkin_id}/checkout",
        json=checkout(title="Trial", amount="800", stage="Nowhere"),
        headers=headers,
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "opportunity.stage"
    body = checkout(
        title="New product line trial", amount="800", stage="Qualified", expected_close="2026-12-20"
    )
    for _ in range(2):
        assert (
            await client.post(f"{API}/{checkin_id}/checkout", json=body, headers=headers)
        ).status_code == 200
    async with engine.connect() as connection:
        deals = (
            await connection.execute(
                select(Opportunity).where(Opportunity.source_checkin_id == UUID(checkin_id))
            )
        ).all()
    assert len(deals) == 1
    deal = deals[0]
    assert (deal.customer_id, deal.title, deal.probability, deal.owner_rep_id) == (
        customer_id, "New product line trial", 25, demo.user("rep1"),
    )  # fmt: skip


async def test_a_deal_of_another_customer_or_rep_is_refused(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine
) -> None:
    headers = await auth("rep1")
    checkin_id, _customer = await visit(client, headers, engine, demo, 2)
    async with engine.connect() as connection:
        theirs = await connection.scalar(
            select(Opportunity.id).where(Opportunity.owner_rep_id == demo.user("rep2"))
        )
        other = await connection.scalar(
            select(Opportunity.id).where(
                Opportunity.owner_rep_id == demo.user("rep1"), Opportunity.customer_id != _customer
            )
        )
    foreign = await client.post(
        f"{API}/{checkin_id}/checkout", json=checkout(id=str(theirs), stage="Proposal"), headers=headers
    )
    assert foreign.status_code == 404
    elsewhere = await client.post(
        f"{API}/{checkin_id}/checkout", json=checkout(id=str(other), stage="Proposal"), headers=headers
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["errors"][0]["field"] == "opportunity.id"
