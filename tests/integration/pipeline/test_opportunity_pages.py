"""Deal pages: the scoped list (htmx rows), a new deal, the edit form with its errors, won -> order."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Customer, Opportunity, OpportunityStage
from tests.conftest import Demo, login_session


def linked(html: str) -> set[str]:
    return set(re.findall(r'href="/opportunities/([0-9a-f-]{36})"', html))


async def test_list_is_scoped_and_htmx_gets_the_rows(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(Opportunity.id, Opportunity.owner_rep_id, OpportunityStage.kind).join(OpportunityStage)
            )
        ).all()
    await login_session(client, "rep1")
    page = await client.get("/opportunities?status=all")
    assert page.status_code == 200 and "<html" in page.text and 'href="/opportunities"' in page.text
    assert linked(page.text) == {str(r.id) for r in rows if r.owner_rep_id == demo.user("rep1")}
    fragment = await client.get("/opportunities?status=won", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert linked(fragment.text) == {
        str(r.id) for r in rows if r.owner_rep_id == demo.user("rep1") and r.kind == "won"
    }


async def test_new_deal_edit_with_errors_and_won_to_order(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.owner_rep_id == demo.user("rep1")).limit(1)
        )
    assert customer is not None
    token = await login_session(client, "rep1")
    form = await client.get(f"/opportunities/new?customer_id={customer.id}")
    assert form.status_code == 200 and f'value="{customer.id}" selected' in form.text
    bad = await client.post(
        "/opportunities/new",
        data={"_csrf_token": token, "customer_id": str(customer.id), "title": "", "amount": "x"},
    )
    assert bad.status_code == 422 and 'id="f-title-error"' in bad.text and 'id="f-amount-error"' in bad.text
    made = await client.post(
        "/opportunities/new",
        data={
            "_csrf_token": token,
            "customer_id": str(customer.id),
            "title": "Window display for spring",
            "amount": "4200,50",
            "stage": "Qualified",
            "expected_close": "2026-12-01",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    url = made.headers["location"]
    detail = await client.get(url)
    assert "Window display for spring" in detail.text and "25%" in detail.text
    edit = {
        "_csrf_token": token,
        "title": "Window display for spring",
        "amount": "4200.50",
        "probability": "25",
        "probability_was": "25",
        "expected_close": "2026-12-01",
    }
    lost = await client.post(url, data={**edit, "stage": "Lost"})
    assert lost.status_code == 422 and 'id="f-lost_reason-error"' in lost.text
    moved = await client.post(url, data={**edit, "stage": "Proposal"}, follow_redirects=False)
    assert moved.status_code == 303
    async with sessionmaker() as session:
        deal = await session.scalar(
            select(Opportunity).where(Opportunity.title == "Window display for spring")
        )
        assert deal is not None and deal.probability == 50 and not deal.probability_overridden
    won = await client.post(
        url,
        data={**edit, "probability_was": "50", "probability": "50", "stage": "Won"},
        follow_redirects=False,
    )
    assert won.status_code == 303
    assert "Book the order" in (await client.get(url)).text
    booked = await client.post(f"{url}/order", data={"_csrf_token": token}, follow_redirects=False)
    assert booked.status_code == 303
    page = (await client.get(url)).text
    assert "Its order is in the actuals." in page and "Book the order" not in page
    assert page.count("<li>") >= 4  # created, Proposal, Won (and the Lost attempt left nothing)


async def test_funnel_fragment_on_team_and_weekly_review(client: AsyncTestClient[Any], demo: Demo) -> None:
    await login_session(client, "manager1")
    team = await client.get("/team")
    assert team.status_code == 200 and "/pipeline/funnel?scope_id=" in team.text
    review = await client.get("/reviews/weekly?week=2026-W47")
    assert review.status_code == 200 and "&amp;period=2026-W47" in review.text
    fragment = await client.get("/pipeline/funnel?period=2026-W47", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "<title>" not in fragment.text
    for label in ("Weighted pipeline", "Coverage", "Win rate", "Lead → Qualified", "Rep "):
        assert label in fragment.text, label
    assert "/api/v1/funnel?scope=org_unit&amp;scope_id=" in fragment.text
    page = await client.get("/pipeline/funnel")
    assert page.status_code == 200 and "<html" in page.text and "Deal funnel" in page.text
    await login_session(client, "rep1")
    mine = await client.get(f"/pipeline/funnel?scope_id={demo.company_id}", headers={"HX-Request": "true"})
    assert mine.status_code == 200 and "/api/v1/funnel?scope=user" in mine.text
