"""Rep plans through the pages: a rep starts a plan, a bad to-do comes back with the message next
to its field, the plan is sent, and the manager approves it from the weekly review. Both engines."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import User
from tests.conftest import Demo, login_session
from tests.integration.reviews.rep_plans_support import API, WEEK

pytestmark = pytest.mark.asyncio


def plan_id_of(location: str) -> str:
    match = re.fullmatch(r"/rep-plans/([0-9a-f-]{36})", location)
    assert match, location
    return match[1]


async def test_rep_writes_and_manager_approves_in_the_weekly_review(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    csrf = await login_session(client, "rep1")
    start = await client.get("/rep-plans")
    assert start.status_code == 200 and "Start my plan" in start.text and "Your gap" in start.text
    made = await client.post(
        "/rep-plans",
        data={"_csrf_token": csrf, "week": WEEK, "summary": "Reorders first"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    plan_id = plan_id_of(made.headers["location"])
    assert (await client.get("/rep-plans", follow_redirects=False)).headers[
        "location"
    ] == f"/rep-plans/{plan_id}"

    bad = await client.post(
        f"/rep-plans/{plan_id}/items",
        data={"_csrf_token": csrf, "title": "Visit Acme", "due_at": "2026-12-01T10:00", "metric": "visits"},
    )
    assert bad.status_code == 400
    assert 'id="f-due_at-error"' in bad.text and "must fall within the plan" in bad.text
    assert 'value="Visit Acme"' in bad.text  # what was typed stays
    good = await client.post(
        f"/rep-plans/{plan_id}/items",
        data={"_csrf_token": csrf, "title": "Visit Acme", "due_at": "2026-11-19T10:00", "metric": "visits",
              "target_value": "2", "result_text": "2 visits", "resources": "Samples"},
        follow_redirects=False,
    )  # fmt: skip
    assert good.status_code == 303
    sent = await client.post(
        f"/rep-plans/{plan_id}/submit", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert sent.status_code == 303

    csrf = await login_session(client, "manager1")
    review = await client.get("/reviews/weekly", params={"week": WEEK})
    assert "Visit Acme" in review.text and f'action="/rep-plans/{plan_id}/approve"' in review.text
    back = f"/reviews/weekly?org_unit_id={demo.units['Shanghai Team 1']}&week={WEEK}"
    approved = await client.post(
        f"/rep-plans/{plan_id}/approve",
        data={"_csrf_token": csrf, "comment": "Go", "next": back},
        follow_redirects=False,
    )
    assert approved.status_code == 303 and approved.headers["location"] == back
    plan = (await client.get(f"{API}/{plan_id}", headers=await auth("manager1"))).json()
    assert plan["status"] == "approved" and [c["body"] for c in plan["comments"]] == ["Go"]
    assert plan["items"][0]["due_at"].startswith("2026-11-19T02:00")  # 10:00 in Shanghai
    # An open redirect is refused: `next` must be a path here.
    evil = await client.post(
        f"/rep-plans/{plan_id}/comments",
        data={"_csrf_token": csrf, "body": "x", "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert evil.headers["location"] == f"/rep-plans/{plan_id}"


async def test_pages_in_chinese(client: AsyncTestClient[Any], engine: AsyncEngine, demo: Demo) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(User).where(User.id == demo.user("rep1")).values(locale="zh_Hans"))
    await login_session(client, "rep1")
    page = await client.get("/rep-plans")
    assert page.status_code == 200
    assert "开始我的计划" in page.text and "Start my plan" not in page.text
    today = await client.get("/")
    assert "来自您的每周计划" in today.text and "From your weekly plan" not in today.text
