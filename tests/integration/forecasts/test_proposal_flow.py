"""Target proposal -> approval flow: the executive edits the proposed per-child targets and submits
them as a draft plan; the approval flow sees it, another approver approves it, and it becomes the
plan the forecast is measured against."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import Target
from tests.conftest import Demo, login_session
from tests.integration.forecasts.test_forecasts import refit

PERIOD = "2027-01"  # next quarter's first month: no plan for it yet


async def test_edited_proposal_becomes_a_submitted_draft_plan_that_can_be_approved(
    client: AsyncTestClient[Any],
    auth: Any,
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    session: AsyncSession,
) -> None:
    await refit(sessionmaker, settings, demo)
    exec_headers = await auth("exec")
    proposal = await client.post(
        "/api/v1/targets/proposal",
        json={"org_unit_id": str(demo.company_id), "period": PERIOD, "growth_pct": "5"},
        headers=exec_headers,
    )
    assert proposal.status_code == 200, proposal.text
    body = proposal.json()
    parts = body["targets"]
    assert sum(Decimal(p["amount"]) for p in parts) == Decimal(body["total"])
    assert {p["scope_id"] for p in parts} == {str(demo.units["East China"]), str(demo.units["US West"])}
    # The executive moves 1,000 from one region to the other and adds 250.55 to the first.
    edited = [
        {"scope": p["scope"], "scope_id": p["scope_id"], "amount": str(Decimal(p["amount"]) + delta)}
        for p, delta in zip(parts, (Decimal("-1000") + Decimal("250.55"), Decimal("1000")), strict=True)
    ]
    total = sum(Decimal(e["amount"]) for e in edited)
    payload = {"org_unit_id": str(demo.company_id), "period": PERIOD, "targets": edited}

    manager = await client.post(
        "/api/v1/targets/proposal/submit", json=payload, headers=await auth("manager1")
    )
    assert manager.status_code == 403
    for bad, status, field in (
        ({**payload, "targets": edited[:1]}, 422, "targets"),  # a child left out
        ({**payload, "targets": [edited[0], edited[0]]}, 400, "targets"),
        ({**payload, "targets": [{**edited[0], "amount": "-1"}, edited[1]]}, 422, "targets"),
        ({**payload, "targets": [{**edited[0], "amount": "1.001"}, edited[1]]}, 422, "targets"),
        ({**payload, "period": "2027-13"}, 400, "period"),
    ):
        rejected = await client.post("/api/v1/targets/proposal/submit", json=bad, headers=exec_headers)
        assert rejected.status_code == status and field in rejected.text, (bad, rejected.text)

    submitted = await client.post("/api/v1/targets/proposal/submit", json=payload, headers=exec_headers)
    assert submitted.status_code == 201, submitted.text
    result = submitted.json()
    assert result["status"] == "submitted" and Decimal(result["total"]) == total
    parent = await session.get(Target, result["target_id"])
    assert parent is not None
    assert (parent.scope, parent.scope_id, parent.granularity) == ("org_unit", demo.company_id, "month")
    assert (parent.period_start, parent.period_end, parent.amount) == (
        date(2027, 1, 1),
        date(2027, 1, 31),
        total,
    )
    children = (await session.scalars(select(Target).where(Target.parent_id == parent.id))).all()
    assert {str(c.scope_id): c.amount for c in children} == {
        e["scope_id"]: Decimal(e["amount"]) for e in edited
    }
    assert {c.status for c in children} == {"submitted"}

    again = await client.post("/api/v1/targets/proposal/submit", json=payload, headers=exec_headers)
    assert again.status_code == 409, again.text  # one pending plan per unit and period

    await login_session(client, "exec")
    approvals = await client.get("/plans/approvals")
    assert approvals.status_code == 200 and f"/plans/targets/{parent.id}" in approvals.text
    own = await client.post(f"/api/v1/targets/{parent.id}/approve", headers=exec_headers)
    assert own.status_code == 403  # four eyes: the submitter does not approve
    approved = await client.post(f"/api/v1/targets/{parent.id}/approve", headers=await auth("admin"))
    assert approved.status_code == 200, approved.text
    forecast = await client.get(
        f"/api/v1/forecasts?scope=org_unit&scope_id={demo.company_id}&period={PERIOD}", headers=exec_headers
    )
    assert Decimal(forecast.json()["plan"]) == total


async def test_proposal_page_prefills_the_split_and_submits_it(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    await refit(sessionmaker, settings, demo)
    csrf = await login_session(client, "exec")
    page = await client.get(
        f"/forecasts/proposal?org_unit_id={demo.company_id}&period={PERIOD}&growth_pct=10"
    )
    assert page.status_code == 200, page.text
    assert "East China" in page.text and "US West" in page.text and 'name="amount-' in page.text
    zh = await client.get(
        f"/forecasts/proposal?org_unit_id={demo.company_id}&period={PERIOD}",
        headers={"Accept-Language": "zh-CN"},
    )
    assert "目标建议" in zh.text
    east, west = str(demo.units["East China"]), str(demo.units["US West"])
    form = {
        "_csrf_token": csrf,
        "org_unit_id": str(demo.company_id),
        "period": PERIOD,
        f"amount-org_unit-{east}": "60000.00",
        f"amount-org_unit-{west}": "40000.50",
    }
    bad = await client.post("/forecasts/proposal", data={**form, f"amount-org_unit-{west}": "lots"})
    assert bad.status_code == 422 and "lots" in bad.text
    done = await client.post("/forecasts/proposal", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/plans/targets/")
