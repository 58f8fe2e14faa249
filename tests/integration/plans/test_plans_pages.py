"""Plan and progress pages: the tree with htmx expansion, forms through approval, scope on pages."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Target, User
from tests.conftest import Demo, login_session


async def sign_in(client: AsyncTestClient[Any], who: str) -> str:
    """Sign in by the form; the CSRF token is read from a page of this area."""
    client.cookies.clear()
    await login_session(client, who)
    page = await client.get("/progress")
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert match, page.text[:300]
    return match.group(1)


async def test_tree_expands_with_htmx_and_stays_in_scope(
    client: AsyncTestClient[Any], demo: Demo, session: AsyncSession
) -> None:
    await sign_in(client, "manager1")
    team1 = demo.units["Shanghai Team 1"]
    page = await client.get("/plans?period=2026-11")
    assert page.status_code == 200
    assert "Shanghai Team 1" in page.text and "Rep 1" in page.text
    assert re.search(r'class="chip chip-(green|yellow|orange|red)"', page.text), "a pace chip per node"

    region = await session.scalar(select(User.org_unit_id).where(User.email == "director1@demo.example"))
    fragment = await client.get(f"/plans/nodes/{team1}?period=2026-11", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Rep 1" in fragment.text
    rep2_team = await session.scalar(select(User.org_unit_id).where(User.id == demo.user("rep2")))
    assert (await client.get(f"/plans/nodes/{rep2_team}")).status_code == 404
    assert (await client.get(f"/plans/nodes/{region}")).status_code == 404, (
        "a team manager cannot open the region"
    )

    await sign_in(client, "rep1")
    assert (await client.get("/plans")).status_code == 403


async def test_set_break_down_submit_approve_and_adjust_through_forms(
    client: AsyncTestClient[Any], demo: Demo, session: AsyncSession
) -> None:
    team1 = demo.units["Shanghai Team 1"]
    csrf = await sign_in(client, "manager1")
    form = await client.get(f"/plans/targets/new?scope=org_unit&scope_id={team1}&period=2027-01")
    assert form.status_code == 200 and "Shanghai Team 1" in form.text
    bad = await client.post(
        "/plans/targets/new",
        data={
            "_csrf_token": csrf,
            "scope": "org_unit",
            "scope_id": str(team1),
            "period": "2027-01",
            "metric": "revenue",
            "amount": "-3",
        },
    )
    assert bad.status_code == 422 and "must not be negative" in bad.text
    created = await client.post(
        "/plans/targets/new",
        data={
            "_csrf_token": csrf,
            "scope": "org_unit",
            "scope_id": str(team1),
            "period": "2027-01",
            "metric": "revenue",
            "amount": "20000",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    target_url = created.headers["location"]
    target_id = target_url.rsplit("/", 1)[1]

    uneven = await client.post(
        f"{target_url}/breakdown",
        data={
            "_csrf_token": csrf,
            "dimension": "org",
            "method": "explicit",
            f"share_{demo.user('rep1')}": "70",
        },
    )
    assert uneven.status_code == 422 and "need one share per child" in uneven.text
    split = await client.post(
        f"{target_url}/breakdown",
        data={"_csrf_token": csrf, "dimension": "org", "method": "even"},
        follow_redirects=False,
    )
    assert split.status_code == 303
    submitted = await client.post(f"{target_url}/submit", data={"_csrf_token": csrf}, follow_redirects=False)
    assert submitted.status_code == 303

    csrf = await sign_in(client, "exec")
    queue = await client.get("/plans/approvals")
    assert queue.status_code == 200 and target_id in queue.text
    approved = await client.post(
        f"{target_url}/approve",
        data={"_csrf_token": csrf, "next": "/plans/approvals"},
        follow_redirects=False,
    )
    assert approved.status_code == 303 and approved.headers["location"] == "/plans/approvals"
    statuses = (
        await session.scalars(
            select(Target.status).where((Target.id == target_id) | (Target.parent_id == target_id))
        )
    ).all()
    assert set(statuses) == {"approved"} and len(statuses) == 3

    csrf = await sign_in(client, "manager1")
    rep_target = (
        await session.scalars(
            select(Target).where(Target.parent_id == target_id, Target.scope_id == demo.user("rep1"))
        )
    ).one()
    no_reason = await client.post(
        f"/plans/targets/{rep_target.id}/adjust",
        data={"_csrf_token": csrf, "new_amount": "11000", "reason": " "},
    )
    assert no_reason.status_code == 422 and 'id="f-reason-error"' in no_reason.text
    adjusted = await client.post(
        f"/plans/targets/{rep_target.id}/adjust",
        data={"_csrf_token": csrf, "new_amount": "11000", "reason": "Rep 1 takes over a key account"},
        follow_redirects=False,
    )
    assert adjusted.status_code == 303
    await session.refresh(rep_target)
    assert str(rep_target.amount) == "11000.00"
    page = await client.get(f"/plans/targets/{target_id}")
    assert "11,000.00" in page.text and "9,000.00" in page.text, "the team-mate absorbed the difference"


async def test_progress_page_for_rep_and_their_manager(client: AsyncTestClient[Any], demo: Demo) -> None:
    await sign_in(client, "rep1")
    page = await client.get("/progress")
    assert page.status_code == 200
    assert "<svg" in page.text and "Remaining gap" in page.text and "Needed per working day" in page.text
    assert (await client.get(f"/progress?user_id={demo.user('rep2')}")).status_code == 404

    await sign_in(client, "manager1")
    assert "Rep 1" in (await client.get(f"/progress?user_id={demo.user('rep1')}")).text
    assert (await client.get(f"/progress?user_id={demo.user('rep2')}")).status_code == 404
