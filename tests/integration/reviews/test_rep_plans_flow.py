"""A rep's weekly plan lived through: written against the gap, submitted, commented on, sent
back, fixed, approved; its to-dos on Today and ticked there; planned vs achieved from a real
check-in and order. Both engines."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import AuditEntry, Notification
from tests.conftest import Demo, MutableClock, login_session
from tests.integration.checkins.test_checkins_support import API as CHECKINS
from tests.integration.checkins.test_checkins_support import checkin_body, customers_of
from tests.integration.reviews.rep_plans_support import (
    API,
    MONDAY,
    WEEK,
    act,
    at,
    create,
    item,
    rep_new_customers,
    week_actuals,
)

pytestmark = pytest.mark.asyncio


async def test_write_submit_review_approve_today_and_achieved(
    client: AsyncTestClient[Any], engine: AsyncEngine, demo: Demo, auth: Any, clock: MutableClock
) -> None:
    rep, manager = await auth("rep1"), await auth("manager1")
    place = (await customers_of(engine, demo.user("rep1")))[0]
    today = MONDAY + timedelta(days=2)
    plan = await create(
        client,
        rep,
        summary="Close the gap with reorders and new accounts",
        items=[
            item("Revenue push", metric="revenue", target_value="5000", due_at=at(today, 17)),
            item("Reorder from my best customer", metric="orders", target_value=1,
                 customer_id=str(place.id), due_at=at(today, 11), resources="Price list"),
            item("Visit it twice", metric="visits", target_value=2, customer_id=str(place.id)),
            item("New accounts", metric="new_customers", target_value=3, result_text="3 new accounts in Pudong"),
            item("Samples for Pudong", metric="custom", target_value=3, due_at=at(today - timedelta(days=1), 9)),
        ],
    )  # fmt: skip
    assert (plan["week"], plan["status"], len(plan["items"])) == (WEEK, "draft", 5)
    assert plan["items"][1]["resources"] == "Price list"
    assert plan["gap"]["months"][0]["metric"] == "revenue"  # the demo has approved revenue targets
    assert Decimal(plan["gap"]["week_plan"]) > 0
    plan_id, items = plan["id"], plan["items"]

    submitted = await act(client, rep, plan_id, "submit")
    assert submitted["status"] == "submitted" and submitted["submitted_at"]
    async with engine.connect() as connection:
        kinds = (
            await connection.execute(select(Notification.user_id).where(Notification.kind == "rep_plan"))
        ).all()
    assert [row[0] for row in kinds] == [demo.user("manager1")]
    # Under review the rep cannot change the content, only comment.
    locked = await client.patch(f"{API}/{plan_id}/items/{items[0]['id']}", json={"title": "x"}, headers=rep)
    assert locked.status_code == 409 and locked.json()["errors"][0]["field"] == "title"

    note = await client.post(
        f"{API}/{plan_id}/comments",
        json={"body": "Which customer?", "item_id": items[3]["id"]},
        headers=manager,
    )
    assert note.status_code == 201, note.text
    bare = await client.post(f"{API}/{plan_id}/request-changes", json={}, headers=manager)
    assert bare.status_code == 422 and bare.json()["errors"][0]["field"] == "comment"
    sent_back = await act(client, manager, plan_id, "request-changes", comment="Name the accounts")
    assert sent_back["status"] == "changes_requested"
    assert [c["body"] for c in sent_back["comments"]] == ["Name the accounts"]
    assert [c["body"] for c in sent_back["items"][3]["comments"]] == ["Which customer?"]
    fixed = await client.patch(
        f"{API}/{plan_id}/items/{items[3]['id']}",
        json={"result_text": "Acme and Zenith in Pudong"},
        headers=rep,
    )
    assert fixed.status_code == 200 and fixed.json()["result_text"] == "Acme and Zenith in Pudong"
    await act(client, rep, plan_id, "submit")
    approved = await act(client, manager, plan_id, "approve", comment="Good plan")
    assert approved["status"] == "approved" and approved["reviewer_name"]
    assert approved["reviewed_by"] == str(demo.user("manager1"))
    async with engine.connect() as connection:
        actions = (
            await connection.execute(
                select(AuditEntry.action).where(AuditEntry.entity_id == UUID(plan_id)).order_by(AuditEntry.at)
            )
        ).scalars()
        assert list(actions) == [
            "rep_plan.create", "rep_plan.submit", "rep_plan.comment", "rep_plan.request_changes",
            "rep_plan.submit", "rep_plan.approve",
        ]  # fmt: skip

    # Today: due today (11:00, 17:00) and yesterday's open one; the undated visit item is absent.
    csrf = await login_session(client, "rep1")
    page = (await client.get("/")).text
    for title in ("Reorder from my best customer", "Revenue push", "Samples for Pudong"):
        assert title in page
    assert "Visit it twice" not in page
    # Today's tick form: offline it replays as PATCH to the API, online it posts here and returns.
    assert f'data-outbox="/api/v1/rep-plans/{plan_id}/items/{items[1]["id"]}"' in page
    ticked = await client.post(
        f"/rep-plans/items/{items[1]['id']}/done?next=/",
        data={"_csrf_token": csrf, "done": "on"},
        follow_redirects=False,
    )
    assert ticked.status_code == 303 and ticked.headers["location"] == "/"
    after = await client.get(f"{API}/{plan_id}", headers=rep)
    assert after.json()["items"][1]["done"] is True
    # A custom result is entered by hand, also after approval.
    manual = await client.patch(
        f"{API}/{plan_id}/items/{items[4]['id']}", json={"manual_achieved": "2"}, headers=rep
    )
    assert manual.status_code == 200 and Decimal(manual.json()["achieved"]) == 2

    # A real visit with an order at the linked customer, then planned vs achieved.
    clock.set(clock.now() + timedelta(hours=1))
    checkin = await client.post(
        CHECKINS, json=checkin_body(place, clock.now() - timedelta(minutes=30)), headers=rep
    )
    assert checkin.status_code == 201, checkin.text
    out = {"checked_out_at": clock.now().isoformat(), "outcome": "order", "order_amount": "1234.50"}
    done = await client.post(f"{CHECKINS}/{checkin.json()['id']}/checkout", json=out, headers=rep)
    assert done.status_code in (200, 201), done.text
    truth = await week_actuals(engine, demo.user("rep1"), place.id)
    assert truth["customer_orders"] >= 1 and truth["customer_visits"] >= 1
    final = (await client.get(f"{API}/{plan_id}", headers=manager)).json()["items"]
    assert Decimal(final[0]["achieved"]) == truth["rep_revenue"]
    assert Decimal(final[1]["achieved"]) == truth["customer_orders"]
    assert Decimal(final[2]["achieved"]) == truth["customer_visits"]
    assert Decimal(final[3]["achieved"]) == await rep_new_customers(engine, demo.user("rep1"))
    assert final[1]["attainment"] == str((truth["customer_orders"] / 1).quantize(Decimal("0.0001")))
    assert [i["measured"] for i in final] == [True, True, True, True, False]

    # The weekly review's JSON and CSV carry the same planned vs achieved, one row per to-do.
    weekly = await client.get("/api/v1/reviews/weekly", params={"week": WEEK}, headers=manager)
    rows = [r for r in weekly.json()["rep_plans"] if r["plan_id"] == plan_id]
    assert [(r["title"], r["achieved"]) for r in rows] == [(i["title"], i["achieved"]) for i in final]
    exported = await client.get(
        "/api/v1/reviews/weekly",
        params={"week": WEEK, "format": "csv", "table": "rep_plans"},
        headers=manager,
    )
    assert exported.status_code == 200 and exported.text.count(plan_id) == 5

    # The weekly review shows the plan, planned vs achieved, to the manager.
    await login_session(client, "manager1")
    review = await client.get("/reviews/weekly", params={"week": WEEK})
    assert review.status_code == 200
    assert "Reorder from my best customer" in review.text and "Good plan" in review.text
    assert "table=rep_plans" in review.text
