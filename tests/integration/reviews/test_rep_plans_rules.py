"""Rep plans: who sees and does what (rep own, manager subtree, other company 404), and every
bad input answered with a 4xx naming its field. Both engines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db.models import Notification, Opportunity, OrgUnit, User
from tests.conftest import Demo
from tests.integration.checkins.test_checkins_support import customers_of
from tests.integration.reviews.rep_plans_support import API, MONDAY, SUNDAY, WEEK, act, at, create, item

pytestmark = pytest.mark.asyncio


async def other_company_executive(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    async with sessionmaker() as session:
        company = OrgUnit(name="Other Co", kind="company", timezone="Asia/Shanghai")
        session.add(company)
        await session.flush()
        session.add(
            User(email="boss@other.example", name="Other Boss", role="executive",
                 org_unit_id=company.id, timezone="Asia/Shanghai")
        )  # fmt: skip
        await session.commit()
    return "boss@other.example"


async def test_scope_rep_own_manager_subtree_other_company_404(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rep1, rep2 = await auth("rep1"), await auth("rep2")
    plan = await create(client, rep1, items=[item("Call three prospects", metric="custom", target_value=3)])
    url = f"{API}/{plan['id']}"
    edited = await client.patch(url, json={"summary": "Prospects first"}, headers=rep1)
    assert edited.status_code == 200 and edited.json()["summary"] == "Prospects first"
    await act(client, rep1, plan["id"], "submit")
    locked = await client.patch(url, json={"summary": "Later"}, headers=rep1)
    assert locked.status_code == 409 and locked.json()["errors"][0]["field"] == "status"

    for who in ("rep1", "manager1", "director1", "exec"):
        assert (await client.get(url, headers=await auth(who))).status_code == 200, who
    outsider = await other_company_executive(sessionmaker)
    for who in ("rep2", "manager2", outsider):
        response = await client.get(url, headers=await auth(who))
        assert response.status_code == 404, who
        listed = await client.get(API, params={"week": WEEK}, headers=await auth(who))
        assert plan["id"] not in [p["id"] for p in listed.json()], who
        review = await client.post(f"{url}/approve", json={}, headers=await auth(who))
        assert review.status_code in (403, 404), who  # a rep is refused by role, the others cannot see it
    assert [p["id"] for p in (await client.get(API, headers=await auth("manager1"))).json()] == [plan["id"]]

    # Only the rep changes the plan; a rep never reviews; a manager comments and reviews.
    manager = await auth("manager1")
    change = await client.patch(f"{url}/items/{plan['items'][0]['id']}", json={"done": True}, headers=manager)
    assert change.status_code == 403
    assert (await client.post(f"{url}/approve", json={}, headers=rep1)).status_code == 403
    assert (await client.post(f"{url}/comments", json={"body": "ok"}, headers=rep2)).status_code == 404
    approved = await act(client, manager, plan["id"], "approve")
    assert approved["status"] == "approved"
    again = await client.post(f"{url}/approve", json={}, headers=manager)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"
    assert (await client.post(f"{url}/submit", headers=rep1)).status_code == 409
    assert (await client.post(API, json={}, headers=manager)).status_code == 403  # managers write no plan


async def test_bad_input_names_the_field(
    client: AsyncTestClient[Any], engine: AsyncEngine, demo: Demo, auth: Any
) -> None:
    rep = await auth("rep1")
    other_customer = (await customers_of(engine, demo.user("rep2")))[0]

    async def refused(
        body: dict[str, Any], status: int, field: str, url: str = API, method: str = "post"
    ) -> None:
        response = await getattr(client, method)(url, json=body, headers=rep)
        assert response.status_code == status, (body, response.text)
        fields = [e["field"] for e in response.json().get("errors", [])]
        # A 404 for an id in the body names the object (its field when the body pointed at it).
        assert fields[:1] == [field] if fields else field in response.json()["detail"], (field, response.text)

    await refused({"week": "2026-47"}, 400, "week")
    await refused({"week": "2026-W46"}, 422, "week")  # a past week
    await refused({"week": "2027-W10"}, 422, "week")  # more than 4 weeks ahead
    await refused({"items": [item("x", metric="profit")]}, 422, "items[0].metric")
    await refused({"items": [item("ok"), item("  ")]}, 422, "items[1].title")
    await refused({"items": [item("x", metric="visits", target_value="2.5")]}, 422, "items[0].target_value")
    await refused({"items": [item("x", metric="revenue", target_value="-1")]}, 422, "items[0].target_value")
    await refused({"items": [item("x", due_at=at(SUNDAY + timedelta(days=1), 9))]}, 422, "items[0].due_at")
    await refused({"items": [item("x", due_at="2026-11-18T09:00:00")]}, 422, "items[0].due_at")
    await refused({"items": [item("x", customer_id=str(other_customer.id))]}, 404, "items[0].customer_id")
    async with AsyncSession(engine) as session:  # deals: another rep's is not there for this one
        others_deal = await session.scalar(
            select(Opportunity.id).where(Opportunity.owner_rep_id == demo.user("rep2")).limit(1)
        )
        own_deal = await session.scalar(
            select(Opportunity.id).where(Opportunity.owner_rep_id == demo.user("rep1")).limit(1)
        )
    assert others_deal is not None and own_deal is not None  # the demo seed gives every rep deals
    await refused({"items": [item("x", opportunity_id=str(others_deal))]}, 404, "items[0].opportunity_id")
    await refused(
        {"items": [item("x", manual_achieved="3", metric="orders")]}, 422, "items[0].manual_achieved"
    )
    await refused(
        {"items": [{"title": "x", "colour": "red"}]}, 400, "items[0]"
    )  # message: unknown field `colour`
    await refused({"items": [{"title": "x", "target_value": "lots"}]}, 400, "items[0].target_value")

    empty = await create(client, rep, week=WEEK)
    assert empty["week_start"] == MONDAY.isoformat()
    await refused({}, 422, "items", f"{API}/{empty['id']}/submit")
    await refused({"week": WEEK}, 409, "week")  # one plan per rep and week
    await refused({"title": ""}, 422, "title", f"{API}/{empty['id']}/items")
    added = await client.post(f"{API}/{empty['id']}/items", json=item("Ring Acme"), headers=rep)
    assert added.status_code == 201
    deal_item = await client.post(
        f"{API}/{empty['id']}/items", json=item("Close it", opportunity_id=str(own_deal)), headers=rep
    )
    assert deal_item.status_code == 201 and deal_item.json()["opportunity_id"] == str(own_deal)
    await client.delete(f"{API}/{empty['id']}/items/{deal_item.json()['id']}", headers=rep)
    await refused({"title": "x", "opportunity_id": str(others_deal)}, 404, "opportunity_id",
                  f"{API}/{empty['id']}/items")  # fmt: skip
    await refused({"metric": "visits", "target_value": "1.5"}, 422, "target_value",
                  f"{API}/{empty['id']}/items/{added.json()['id']}", "patch")  # fmt: skip
    await refused({"body": " "}, 422, "body", f"{API}/{empty['id']}/comments")
    await refused(
        {"body": "x", "item_id": str(empty["id"])}, 404, "Plan item", f"{API}/{empty['id']}/comments"
    )
    missing = await client.get(f"{API}/{added.json()['id']}", headers=rep)
    assert missing.status_code == 404  # an item id is no plan id
    assert (await client.get(API, params={"status": "won"}, headers=rep)).json()["errors"][0][
        "field"
    ] == "status"
    deleted = await client.delete(f"{API}/{empty['id']}/items/{added.json()['id']}", headers=rep)
    assert deleted.status_code == 204
    assert (await client.get(f"{API}/{empty['id']}", headers=rep)).json()["items"] == []


async def test_notifications_speak_the_recipients_language(
    client: AsyncTestClient[Any], engine: AsyncEngine, demo: Demo, auth: Any
) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(User).where(User.id == demo.user("manager1")).values(locale="zh_Hans")
        )
    rep = await auth("rep1")
    plan = await create(client, rep, items=[item("Call Acme")])
    await act(client, rep, plan["id"], "submit")
    await act(client, await auth("manager1"), plan["id"], "request-changes", comment="Add a date")
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(Notification.user_id, Notification.title, Notification.body, Notification.url)
                .where(Notification.kind == "rep_plan")
                .order_by(Notification.created_at)
            )
        ).all()
    to_manager, to_rep = rows
    assert to_manager.user_id == demo.user("manager1") and to_manager.title.endswith("提交了每周计划")
    assert to_manager.url == f"/rep-plans/{plan['id']}"
    assert to_rep.user_id == demo.user("rep1")
    assert (to_rep.title, to_rep.body) == ("Your weekly plan needs changes", "Add a date")
