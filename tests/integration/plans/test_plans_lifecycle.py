"""Plan lifecycle: draft -> submitted -> approved / returned, cascades, versions, audit rows."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import AuditEntry
from tests.conftest import Demo


async def new_team_plan(client: AsyncTestClient[Any], headers: dict[str, str], demo: Demo) -> dict[str, Any]:
    """A draft 2027 year target for Shanghai Team 1, broken down to its reps."""
    response = await client.post(
        "/api/v1/targets",
        headers=headers,
        json={
            "scope": "org_unit",
            "scope_id": str(demo.units["Shanghai Team 1"]),
            "metric": "revenue",
            "granularity": "year",
            "period_start": "2027-01-01",
            "amount": "240000",
        },
    )
    assert response.status_code == 201, response.text
    plan = response.json()
    children = await client.post(
        f"/api/v1/targets/{plan['id']}/breakdown",
        headers=headers,
        json={"dimension": "org", "method": "even"},
    )
    assert children.status_code == 201, children.text
    return plan


async def act(
    client: AsyncTestClient[Any], headers: dict[str, str], target_id: str, action: str, **body: Any
) -> Any:
    return await client.post(f"/api/v1/targets/{target_id}/{action}", headers=headers, json=body or None)


async def test_draft_submit_return_resubmit_approve(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    plan = await new_team_plan(client, manager, demo)

    too_early = await act(client, executive, plan["id"], "approve")
    assert too_early.status_code == 409
    assert too_early.json()["errors"][0]["field"] == "status"
    assert "draft" in too_early.json()["detail"]

    submitted = await act(client, manager, plan["id"], "submit")
    assert submitted.status_code == 200 and submitted.json()["target"]["status"] == "submitted"
    assert submitted.json()["moved"] == 3, "the team target and both reps' targets move together"
    assert (await act(client, manager, plan["id"], "submit")).status_code == 409

    assert (await act(client, manager, plan["id"], "approve")).status_code == 403, "managers do not approve"
    no_comment = await client.post(
        f"/api/v1/targets/{plan['id']}/return", headers=executive, json={"comment": ""}
    )
    assert no_comment.status_code == 400 and no_comment.json()["errors"][0]["field"] == "comment"
    returned = await act(client, executive, plan["id"], "return", comment="Team 1 can do 10% more")
    assert returned.status_code == 200
    assert returned.json()["target"]["status"] == "returned"
    assert returned.json()["target"]["review_comment"] == "Team 1 can do 10% more"

    edited = await client.patch(f"/api/v1/targets/{plan['id']}", headers=manager, json={"amount": "264000"})
    assert edited.status_code == 200 and edited.json()["amount"] == "264000.00"
    assert (await act(client, manager, plan["id"], "submit")).status_code == 200
    approved = await act(client, executive, plan["id"], "approve")
    assert approved.status_code == 200 and approved.json()["moved"] == 3
    children = (await client.get(f"/api/v1/targets?parent_id={plan['id']}", headers=executive)).json()
    assert {c["status"] for c in children} == {"approved"}

    locked = await client.patch(f"/api/v1/targets/{plan['id']}", headers=manager, json={"amount": "1"})
    assert locked.status_code == 409 and locked.json()["errors"][0]["field"] == "status"

    actions = (
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == plan["id"]).order_by(AuditEntry.at)
        )
    ).all()
    for expected in (
        "target.created",
        "target.broken_down",
        "target.submitted",
        "target.returned",
        "target.edited",
        "target.approved",
    ):
        assert expected in actions, (expected, actions)


async def test_a_child_is_not_approved_before_its_parent(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    plan = await new_team_plan(client, manager, demo)
    await act(client, manager, plan["id"], "submit")
    child = (await client.get(f"/api/v1/targets?parent_id={plan['id']}", headers=manager)).json()[0]
    response = await act(client, executive, child["id"], "approve")
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "parent_id"


async def test_replan_creates_a_version_that_supersedes_on_approval(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    rep1 = demo.user("rep1")
    original = (
        await client.get(
            f"/api/v1/targets?scope=user&scope_id={rep1}&metric=revenue&granularity=month&from=2026-11-18&to=2026-11-18",
            headers=manager,
        )
    ).json()
    assert len(original) == 1 and original[0]["status"] == "approved"
    old = original[0]

    replan = await client.post(
        f"/api/v1/targets/{old['id']}/replan", headers=manager, json={"amount": "5000"}
    )
    assert replan.status_code == 201, replan.text
    new = replan.json()
    assert (
        new["version"] == old["version"] + 1
        and new["status"] == "draft"
        and new["parent_id"] == old["parent_id"]
    )
    second = await client.post(
        f"/api/v1/targets/{old['id']}/replan", headers=manager, json={"amount": "6000"}
    )
    assert second.status_code == 409, "one pending re-plan per target"

    progress = await client.get(f"/api/v1/progress?scope_id={rep1}&as_of=2026-11-18", headers=manager)
    assert progress.json()["target_id"] == old["id"], "the draft does not drive progress"

    await act(client, manager, new["id"], "submit")
    assert (await act(client, executive, new["id"], "approve")).status_code == 200
    assert (await client.get(f"/api/v1/targets/{old['id']}", headers=manager)).json()[
        "status"
    ] == "superseded"
    progress = await client.get(f"/api/v1/progress?scope_id={rep1}&as_of=2026-11-18", headers=manager)
    assert progress.json()["target_id"] == new["id"] and progress.json()["target"] == "5000.00"


async def test_bad_target_input_names_the_field(client: AsyncTestClient[Any], demo: Demo, auth: Any) -> None:
    headers = await auth("exec")
    good = {
        "scope": "org_unit",
        "scope_id": str(demo.company_id),
        "metric": "revenue",
        "granularity": "month",
        "period_start": "2027-02-01",
        "amount": "100",
    }
    cases = [
        ({"amount": "-5"}, 422, "amount"),
        ({"amount": "1.234"}, 422, "amount"),
        ({"amount": "lots"}, 400, "amount"),
        ({"metric": "profit"}, 400, "metric"),
        ({"granularity": "fortnight"}, 400, "granularity"),
        ({"period_start": "2027-02-30"}, 400, "period_start"),
        ({"period_end": "2027-01-31"}, 422, "period_end"),
        ({"period_end": "2027-03-31"}, 422, "period_end"),
        ({"metric": "visits", "amount": "10.5"}, 422, "amount"),
        ({"weights": {"1": 50, "2": 50}}, 422, "weights"),
        ({"scope_id": "not-a-uuid"}, 400, "scope_id"),
    ]
    for change, status, field in cases:
        response = await client.post("/api/v1/targets", headers=headers, json={**good, **change})
        assert response.status_code == status, (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, (change, response.json())
    assert (await client.post("/api/v1/targets", headers=headers, json=good)).status_code == 201


async def test_targets_list_exports_csv(client: AsyncTestClient[Any], demo: Demo, auth: Any) -> None:
    headers = await auth("manager1")
    as_json = (await client.get("/api/v1/targets?granularity=year", headers=headers)).json()
    response = await client.get("/api/v1/targets?granularity=year&format=csv", headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("\ufeffid,scope,scope_id,metric"), "a UTF-8 BOM first, for Excel"
    assert len(lines) == len(as_json) + 1
    by_accept = await client.get(
        "/api/v1/targets?granularity=year", headers={**headers, "Accept": "text/csv"}
    )
    assert by_accept.text == response.text
