"""Scope matrix: rep1, rep2, manager1 (rep1's team), manager2 (rep2's team), exec, admin against
every plans endpoint. Nothing outside one's scope is readable or writable, and it answers 404."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Customer, Target
from tests.conftest import Demo

NOV = date(2026, 11, 1)
USERS = ("rep1", "rep2", "manager1", "manager2", "exec", "admin")
# Which of the seeded November revenue targets each user may see.
SEES = {
    "rep1": {"rep1"},
    "rep2": {"rep2"},
    "manager1": {"rep1", "team1"},
    "manager2": {"rep2", "team2"},
    "exec": {"rep1", "rep2", "team1", "team2", "company"},
    "admin": {"rep1", "rep2", "team1", "team2", "company"},
}


async def november_targets(session: AsyncSession, demo: Demo) -> dict[str, Target]:
    team2 = await team_of(session, demo, "rep2")
    scopes = {
        "rep1": demo.user("rep1"),
        "rep2": demo.user("rep2"),
        "team1": demo.units["Shanghai Team 1"],
        "team2": team2,
        "company": demo.company_id,
    }
    found = {}
    for name, scope_id in scopes.items():
        found[name] = (
            await session.scalars(
                select(Target).where(
                    Target.scope_id == scope_id,
                    Target.metric == "revenue",
                    Target.granularity == "month",
                    Target.period_start == NOV,
                )
            )
        ).one()
    return found


async def team_of(session: AsyncSession, demo: Demo, rep: str) -> Any:
    from server.db.models import User

    return await session.scalar(select(User.org_unit_id).where(User.id == demo.user(rep)))


@pytest.mark.parametrize("who", USERS)
async def test_read_matrix(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession, who: str
) -> None:
    targets = await november_targets(session, demo)
    headers = await auth(who)
    for name, target in targets.items():
        response = await client.get(f"/api/v1/targets/{target.id}", headers=headers)
        assert response.status_code == (200 if name in SEES[who] else 404), (who, name)
        scope = "user" if target.scope == "user" else "org_unit"
        progress = await client.get(
            f"/api/v1/progress?scope={scope}&scope_id={target.scope_id}&as_of=2026-11-18", headers=headers
        )
        assert progress.status_code == (200 if name in SEES[who] else 404), (who, name, progress.text)
        listed = await client.get(
            f"/api/v1/targets?scope_id={target.scope_id}&granularity=month", headers=headers
        )
        assert (len(listed.json()) > 0) == (name in SEES[who]), (who, name)

    everything = (await client.get("/api/v1/targets?limit=5000", headers=headers)).json()
    visible_ids = {t["id"] for t in everything}
    assert {n for n, t in targets.items() if str(t.id) in visible_ids} == SEES[who]

    orders = (await client.get("/api/v1/orders?limit=5000", headers=headers)).json()
    rep_ids = {o["rep_id"] for o in orders}
    assert (str(demo.user("rep1")) in rep_ids) == ("rep1" in SEES[who])
    assert (str(demo.user("rep2")) in rep_ids) == ("rep2" in SEES[who])


@pytest.mark.parametrize("who", ["rep1", "rep2", "manager2"])
async def test_write_outside_scope_is_refused(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession, who: str
) -> None:
    """Nobody but team 1's manager and above may touch team 1's plan: reps by role, others by scope."""
    targets = await november_targets(session, demo)
    team1, rep1 = targets["team1"], targets["rep1"]
    headers = await auth(who)
    expected = 403 if who.startswith("rep") else 404
    attempts = [
        ("post", f"/api/v1/targets/{rep1.id}/adjustments", {"new_amount": "1", "reason": "x"}),
        ("post", f"/api/v1/targets/{team1.id}/breakdown", {"dimension": "org", "method": "even"}),
        ("post", f"/api/v1/targets/{team1.id}/submit", None),
        ("post", f"/api/v1/targets/{team1.id}/replan", {"amount": "1"}),
        ("patch", f"/api/v1/targets/{team1.id}", {"amount": "1"}),
        (
            "post",
            "/api/v1/targets",
            {
                "scope": "org_unit",
                "scope_id": str(demo.units["Shanghai Team 1"]),
                "metric": "revenue",
                "granularity": "year",
                "period_start": "2027-01-01",
                "amount": "1",
            },
        ),
    ]
    for method, url, body in attempts:
        response = await getattr(client, method)(url, headers=headers, json=body)
        assert response.status_code == expected, (who, url, response.text)
    customer = await session.scalar(
        select(Customer.id).where(Customer.org_unit_id == demo.units["Shanghai Team 1"])
    )
    order = await client.post(
        "/api/v1/orders",
        headers=headers,
        json={"customer_id": str(customer), "amount": "10", "ordered_on": "2026-11-17"},
    )
    assert order.status_code == expected, (who, order.text)
    unchanged = await session.get(Target, team1.id, populate_existing=True)
    assert unchanged is not None and unchanged.amount == team1.amount


async def test_adjustments_are_scoped_and_only_executives_decide(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    targets = await november_targets(session, demo)
    manager1 = await auth("manager1")
    request = await client.post(
        f"/api/v1/targets/{targets['rep1'].id}/adjustments",
        headers=manager1,
        json={"new_amount": str(targets["rep1"].amount * 2), "reason": "Big order expected"},
    )
    adjustment_id = request.json()["adjustment"]["id"]
    for who, listed in (
        ("rep1", True),
        ("rep2", False),
        ("manager1", True),
        ("manager2", False),
        ("exec", True),
    ):
        ids = [a["id"] for a in (await client.get("/api/v1/adjustments", headers=await auth(who))).json()]
        assert (adjustment_id in ids) == listed, who
    for who, status in (("rep1", 403), ("manager1", 403), ("manager2", 403)):
        response = await client.post(f"/api/v1/adjustments/{adjustment_id}/approve", headers=await auth(who))
        assert response.status_code == status, who
    assert (
        await client.post(f"/api/v1/adjustments/{adjustment_id}/approve", headers=await auth("admin"))
    ).status_code == 200
