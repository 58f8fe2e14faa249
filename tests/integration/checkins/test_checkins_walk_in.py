"""Any customer, not only today's list (issue 17): a walk-in visit joins the day as done, and the
customer API and page carry what a rep needs at the door."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import Customer, Task
from tests.conftest import Demo, MutableClock, login_session
from tests.integration.checkins.test_checkins_support import API, checkin_body, customers_of


async def test_a_walk_in_visit_joins_the_day_as_done(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"), 1)
    today = clock.local_date("Asia/Shanghai")
    async with engine.connect() as connection:
        before = (
            await connection.execute(
                select(Task.id).where(Task.customer_id == place.id, Task.local_date == today)
            )
        ).all()
    assert before == []  # not on today's list
    body = checkin_body(place, clock.now() - timedelta(minutes=30))
    assert (await client.post(API, json=body, headers=headers)).status_code == 201
    out = {"checked_out_at": clock.now().isoformat(), "outcome": "order", "order_amount": "250"}
    done = await client.post(f"{API}/{body['id']}/checkout", json=out, headers=headers)
    assert done.status_code == 200, done.text
    task_id = done.json()["task_id"]
    assert task_id is not None
    async with engine.connect() as connection:
        task = (
            await connection.execute(
                select(Task).where(Task.customer_id == place.id, Task.local_date == today)
            )
        ).one()
    assert (str(task.id), task.status, task.source, task.kind) == (task_id, "done", "walk_in", "visit")
    # A replay of the check-out adds nothing.
    assert (await client.post(f"{API}/{body['id']}/checkout", json=out, headers=headers)).status_code == 200
    async with engine.connect() as connection:
        count = len(
            (
                await connection.execute(
                    select(Task.id).where(Task.customer_id == place.id, Task.local_date == today)
                )
            ).all()
        )
    assert count == 1


async def test_the_customer_api_and_page_have_address_location_contact_and_promises(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"), 1)
    async with engine.begin() as connection:
        await connection.execute(
            update(Customer)
            .where(Customer.id == place.id)
            .values(contact_name="Li Wei", contact_phone="+86 21 5555 0101", contact_email="li@example.cn")
        )
    listed = (await client.get("/api/v1/customers?page_size=200", headers=headers)).json()["items"]
    mine = next(item for item in listed if item["id"] == str(place.id))
    assert (mine["lat"], mine["lng"]) == (place.lat, place.lng) and mine["address"]
    assert (mine["contact_name"], mine["contact_phone"]) == ("Li Wei", "+86 21 5555 0101")
    body = checkin_body(place, clock.now() - timedelta(minutes=30))
    await client.post(API, json=body, headers=headers)
    due = (clock.local_date("Asia/Shanghai") + timedelta(days=3)).isoformat()
    out = {"checked_out_at": clock.now().isoformat(), "outcome": "follow_up", "notes": "Wants a tasting",
           "next_step": "Bring samples", "next_step_due": due}  # fmt: skip
    assert (await client.post(f"{API}/{body['id']}/checkout", json=out, headers=headers)).status_code == 200
    detail = (await client.get(f"/api/v1/customers/{place.id}", headers=headers)).json()
    assert detail["customer"]["contact_email"] == "li@example.cn"
    assert [p["text"] for p in detail["open_promises"]] == ["Bring samples"]
    assert detail["recent_visits"][0]["notes"] == "Wants a tasting"

    await login_session(client, "rep1")
    html = (await client.get(f"/customers/{place.id}")).text
    assert 'href="tel:+862155550101"' in html and "Call +86 21 5555 0101" in html
    assert "Bring samples" in html and "Wants a tasting" in html and "Follow up" in html
    assert f'href="/checkins/new?customer_id={place.id}"' in html
    assert "uri.amap.com/navigation" in html and "api.map.baidu.com" in html  # seeded in China
    assert "data-store-customer=" in html
