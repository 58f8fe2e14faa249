"""Opportunities API: scope matrix (another company's deal is a 404), stage history with time and
actor, probability defaults, lost needs a reason, won -> one order, stages per company, CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.core.org import subtree_unit_ids
from server.db.models import (
    Customer,
    Opportunity,
    OpportunityStage,
    OpportunityStageChange,
    Order,
    OrgUnit,
    User,
)
from tests.conftest import DEFAULT_NOW, Demo

USERS = ("rep1", "rep2", "manager1", "manager2", "exec", "admin")


async def expected_scope(sessionmaker: async_sessionmaker[AsyncSession], local: str) -> set[UUID]:
    """From the raw rows: reps their own deals, everyone else those of their subtree's units."""
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.email == f"{local}@demo.example"))
        assert user is not None and user.org_unit_id is not None
        if user.role == "rep":
            where = Opportunity.owner_rep_id == user.id
        else:
            where = Opportunity.org_unit_id.in_(await subtree_unit_ids(session, user.org_unit_id))
        return set(await session.scalars(select(Opportunity.id).where(where)))


async def other_company_deal(sessionmaker: async_sessionmaker[AsyncSession]) -> UUID:
    """A second company with one customer and one deal, inserted straight into the tables."""
    async with sessionmaker() as session:
        company = OrgUnit(id=uuid4(), name="Other Co.", kind="company", timezone="UTC")
        session.add(company)
        await session.flush()
        customer = Customer(id=uuid4(), name="Elsewhere Ltd", org_unit_id=company.id)
        stage = OpportunityStage(company_id=company.id, name="Lead", position=1, default_probability=10)
        session.add_all([customer, stage])
        await session.flush()
        deal = Opportunity(
            company_id=company.id, org_unit_id=company.id, customer_id=customer.id, title="Theirs",
            amount=Decimal(100), stage_id=stage.id, probability=10, stage_changed_at=DEFAULT_NOW,
        )  # fmt: skip
        session.add(deal)
        await session.commit()
        return deal.id


async def test_scope_matrix_list_detail_csv_and_other_company(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    theirs = await other_company_deal(sessionmaker)
    async with sessionmaker() as session:
        everyone = set(await session.scalars(select(Opportunity.id))) - {theirs}
    scopes = {local: await expected_scope(sessionmaker, local) for local in USERS}
    assert scopes["exec"] == scopes["admin"] == everyone
    assert scopes["rep1"] and scopes["rep1"] < scopes["manager1"] < everyone
    assert not scopes["manager1"] & scopes["manager2"]
    for local in USERS:
        headers = await auth(local)
        listed = await client.get("/api/v1/opportunities?limit=200", headers=headers)
        assert listed.status_code == 200
        assert {UUID(i["id"]) for i in listed.json()["items"]} == scopes[local], local
        assert listed.json()["total"] == len(scopes[local])
        exported = await client.get("/api/v1/opportunities?format=csv", headers=headers)
        rows = list(csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff"))))
        assert {UUID(r["id"]) for r in rows} == scopes[local], local
        inside, outside = next(iter(scopes[local])), next(iter(everyone - scopes[local]), None)
        assert (await client.get(f"/api/v1/opportunities/{inside}", headers=headers)).status_code == 200
        if outside is not None:
            hidden = await client.get(f"/api/v1/opportunities/{outside}", headers=headers)
            assert hidden.status_code == 404
            moved = await client.patch(
                f"/api/v1/opportunities/{outside}", json={"stage": "Won"}, headers=headers
            )
            assert moved.status_code == 404
        assert (await client.get(f"/api/v1/opportunities/{theirs}", headers=headers)).status_code == 404


async def test_filters(client: AsyncTestClient[Any], demo: Demo, auth: Any) -> None:
    headers = await auth("manager1")
    everything = (await client.get("/api/v1/opportunities?limit=200", headers=headers)).json()["items"]
    owner = everything[0]["owner_rep_id"]
    mine = (await client.get(f"/api/v1/opportunities?limit=200&owner_rep_id={owner}", headers=headers)).json()
    assert {i["id"] for i in mine["items"]} == {i["id"] for i in everything if i["owner_rep_id"] == owner}
    staged = (await client.get("/api/v1/opportunities?limit=200&stage=proposal", headers=headers)).json()
    assert {i["id"] for i in staged["items"]} == {i["id"] for i in everything if i["stage"] == "Proposal"}
    cut = "2026-12-01"
    closing = (
        await client.get(f"/api/v1/opportunities?limit=200&closing_before={cut}", headers=headers)
    ).json()
    assert {i["id"] for i in closing["items"]} == {
        i["id"] for i in everything if i["expected_close"] and i["expected_close"] < cut
    }
    page = (await client.get("/api/v1/opportunities?limit=5&offset=5", headers=headers)).json()
    assert [i["id"] for i in page["items"]] == [i["id"] for i in everything[5:10]]
    bad = await client.get("/api/v1/opportunities?stage=Nowhere", headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "stage"


async def test_stage_history_probability_defaults_lost_reason_and_won_order(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await auth("rep1")
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(Customer)
            .where(Customer.owner_rep_id == demo.user("rep1"))
            .order_by(Customer.name)
            .limit(1)
        )
        theirs = await session.scalar(
            select(Customer.id).where(Customer.owner_rep_id == demo.user("rep2")).limit(1)
        )
        rep_name = await session.scalar(select(User.name).where(User.id == demo.user("rep1")))
    assert customer is not None
    body = {
        "customer_id": str(customer.id),
        "title": "Spring order",
        "amount": "12000.50",
        "expected_close": "2026-12-10",
    }
    created = await client.post("/api/v1/opportunities", json=body, headers=headers)
    assert created.status_code == 201, created.text
    deal = created.json()["opportunity"]
    assert (deal["stage"], deal["probability"], deal["owner_rep_id"]) == ("Lead", 10, str(demo.user("rep1")))
    assert deal["weighted_amount"] == "1200.05"
    url = f"/api/v1/opportunities/{deal['id']}"

    moved = (await client.patch(url, json={"stage": "Proposal"}, headers=headers)).json()
    assert moved["opportunity"]["probability"] == 50 and not moved["opportunity"]["probability_overridden"]
    assert [(h["from_stage"], h["to_stage"]) for h in moved["history"]] == [
        (None, "Lead"),
        ("Lead", "Proposal"),
    ]
    assert {h["by"] for h in moved["history"]} == {rep_name}
    assert moved["history"][1]["at"].startswith("2026-11-18")

    overridden = (await client.patch(url, json={"probability": 60}, headers=headers)).json()["opportunity"]
    assert overridden["probability"] == 60 and overridden["probability_overridden"]
    again = (await client.patch(url, json={"stage": "Negotiation"}, headers=headers)).json()["opportunity"]
    assert again["probability"] == 75 and not again["probability_overridden"]
    kept = (await client.patch(url, json={"stage": "Proposal", "probability": 40}, headers=headers)).json()
    assert kept["opportunity"]["probability"] == 40

    untouched = (await client.patch(url, json={"next_step": "Send samples"}, headers=headers)).json()
    assert untouched["opportunity"]["title"] == "Spring order" and len(untouched["history"]) == 4

    lost = await client.patch(url, json={"stage": "Lost"}, headers=headers)
    assert lost.status_code == 422 and lost.json()["errors"][0]["field"] == "lost_reason"
    too_early = await client.post(f"{url}/order", headers=headers)
    assert too_early.status_code == 409 and too_early.json()["errors"][0]["field"] == "stage"

    won = await client.patch(url, json={"stage": "Won", "create_order": True}, headers=headers)
    assert won.status_code == 200, won.text
    opportunity = won.json()["opportunity"]
    assert opportunity["probability"] == 100 and opportunity["closed_on"] == "2026-11-18"
    assert opportunity["order_id"]
    retry = await client.post(f"{url}/order", headers=headers)
    assert retry.status_code == 200 and retry.json()["order_id"] == opportunity["order_id"]
    assert not retry.json()["created"]
    async with sessionmaker() as session:
        orders = list(
            await session.scalars(select(Order).where(Order.external_ref == f"opportunity:{deal['id']}"))
        )
        changes = await session.scalar(
            select(func.count()).where(OpportunityStageChange.opportunity_id == UUID(deal["id"]))
        )
        by = set(await session.scalars(
            select(OpportunityStageChange.by_user_id).where(OpportunityStageChange.opportunity_id == UUID(deal["id"]))
        ))  # fmt: skip
    assert [(o.amount, o.rep_id, o.customer_id, o.ordered_on) for o in orders] == [
        (Decimal("12000.50"), demo.user("rep1"), customer.id, date(2026, 11, 18))
    ]
    assert changes == 5 and by == {demo.user("rep1")}

    lost_ok = await client.patch(url, json={"stage": "Lost", "lost_reason": "Budget cut"}, headers=headers)
    assert lost_ok.status_code == 200 and lost_ok.json()["opportunity"]["probability"] == 0

    foreign = await client.post(
        "/api/v1/opportunities", json={**body, "customer_id": str(theirs)}, headers=headers
    )
    assert foreign.status_code == 404 and foreign.json()["errors"][0]["field"] == "customer_id"
    for bad, field in (
        ({"amount": "-1"}, "amount"),
        ({"probability": 101}, "probability"),
        ({"title": ""}, "title"),
    ):
        refused = await client.post("/api/v1/opportunities", json={**body, **bad}, headers=headers)
        assert refused.status_code in (400, 422) and field in refused.text, (bad, refused.text)


async def test_stages_per_company_admin_only(client: AsyncTestClient[Any], demo: Demo, auth: Any) -> None:
    listed = (await client.get("/api/v1/pipeline/stages", headers=await auth("rep1"))).json()
    assert [(s["name"], s["default_probability"], s["kind"]) for s in listed] == [
        ("Lead", 10, "open"), ("Qualified", 25, "open"), ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"), ("Won", 100, "won"), ("Lost", 0, "lost"),
    ]  # fmt: skip
    wanted = {
        "stages": [
            {"name": "Lead", "default_probability": 5, "kind": "open"},
            {"name": "Demo", "default_probability": 40, "kind": "open"},
            {"name": "Won", "default_probability": 100, "kind": "won"},
            {"name": "Lost", "default_probability": 0, "kind": "lost"},
        ]
    }
    refused = await client.put("/api/v1/pipeline/stages", json=wanted, headers=await auth("manager1"))
    assert refused.status_code == 403
    twice = {"stages": [*wanted["stages"], {"name": "Won again", "default_probability": 100, "kind": "won"}]}
    invalid = await client.put("/api/v1/pipeline/stages", json=twice, headers=await auth("admin"))
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "stages"
    replaced = await client.put("/api/v1/pipeline/stages", json=wanted, headers=await auth("admin"))
    assert replaced.status_code == 200, replaced.text
    stages = replaced.json()
    active = [(s["name"], s["default_probability"]) for s in stages if s["active"]]
    assert active == [("Lead", 5), ("Demo", 40), ("Won", 100), ("Lost", 0)]
    # Stages in use by seeded deals are retired, not deleted (their history stays readable).
    assert {s["name"] for s in stages if not s["active"]} == {"Qualified", "Proposal", "Negotiation"}
