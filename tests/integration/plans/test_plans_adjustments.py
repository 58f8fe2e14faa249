"""Adjustments: up to 15% on a month applies at once and is re-phased (rebalance, the default
mode); beyond waits for an executive (never the requester); every level keeps summing exactly;
every change is audited. The cumulative guard, the lock and both modes: test_plans_guard.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import AuditEntry, Target
from tests.conftest import Demo


async def rep_targets(session: AsyncSession, rep: Any) -> tuple[Target, dict[str, Target]]:
    """rep's approved 2026 revenue year target and its months by 'MM'."""
    rows = (
        await session.scalars(
            select(Target).where(
                Target.scope_id == rep, Target.metric == "revenue", Target.status == "approved"
            )
        )
    ).all()
    year = next(t for t in rows if t.granularity == "year")
    months = {f"{t.period_start.month:02d}": t for t in rows if t.granularity == "month"}
    return year, months


async def amounts(
    client: AsyncTestClient[Any], headers: dict[str, str], parent_id: Any
) -> dict[str, Decimal]:
    children = (await client.get(f"/api/v1/targets?parent_id={parent_id}", headers=headers)).json()
    return {c["id"]: Decimal(c["amount"]) for c in children}


async def adjust(
    client: AsyncTestClient[Any],
    headers: dict[str, str],
    target_id: Any,
    new: Decimal | str,
    reason: str = "Key account delayed",
) -> Any:
    return await client.post(
        f"/api/v1/targets/{target_id}/adjustments",
        headers=headers,
        json={"new_amount": str(new), "reason": reason},
    )


async def test_small_move_applies_now_and_later_months_absorb_it(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager = await auth("manager1")
    year, months = await rep_targets(session, demo.user("rep1"))
    nov, dec = months["11"], months["12"]
    new_nov = (nov.amount * Decimal("0.90")).quantize(Decimal("0.01"))

    response = await adjust(client, manager, nov.id, new_nov)

    assert response.status_code == 201, response.text
    assert response.json()["adjustment"]["status"] == "applied"
    after = await amounts(client, manager, year.id)
    assert after[str(nov.id)] == new_nov
    assert after[str(dec.id)] == dec.amount + (nov.amount - new_nov), "December takes the re-phased amount"
    assert sum(after.values(), Decimal(0)) == year.amount, "the year total is unchanged"
    assert after[str(months["10"].id)] == months["10"].amount, "past months are never touched"

    audit = (await session.execute(select(AuditEntry.action, AuditEntry.entity_id))).all()
    assert ("adjustment.applied", response.json()["adjustment"]["id"]) in [(a, str(e)) for a, e in audit]
    adjusted = {str(e) for a, e in audit if a == "target.adjusted"}
    assert {str(nov.id), str(dec.id)} <= adjusted


async def test_limit_is_inclusive_and_a_bigger_move_waits_for_an_executive(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    year, months = await rep_targets(session, demo.user("rep1"))
    nov = months["11"]
    exactly = (nov.amount * Decimal("1.15")).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    assert (await adjust(client, manager, nov.id, exactly)).json()["adjustment"]["status"] == "applied"

    current = Decimal((await client.get(f"/api/v1/targets/{nov.id}", headers=manager)).json()["amount"])
    big = (current * Decimal("1.1502")).quantize(Decimal("0.01"))
    pending = await adjust(client, manager, nov.id, big, "New distributor signed")
    assert pending.status_code == 201 and pending.json()["adjustment"]["status"] == "pending"
    assert (
        Decimal((await client.get(f"/api/v1/targets/{nov.id}", headers=manager)).json()["amount"]) == current
    )
    assert (await adjust(client, manager, nov.id, current + 1)).status_code == 409, "one pending at a time"

    adjustment_id = pending.json()["adjustment"]["id"]
    queue = (await client.get("/api/v1/adjustments?status=pending", headers=executive)).json()
    assert [a["id"] for a in queue] == [adjustment_id]
    assert (
        await client.post(f"/api/v1/adjustments/{adjustment_id}/approve", headers=manager)
    ).status_code == 403

    approved = await client.post(
        f"/api/v1/adjustments/{adjustment_id}/approve", headers=executive, json={"note": "ok"}
    )
    assert approved.status_code == 200 and approved.json()["adjustment"]["status"] == "approved"
    after = await amounts(client, manager, year.id)
    assert after[str(nov.id)] == big and sum(after.values(), Decimal(0)) == year.amount
    again = await client.post(f"/api/v1/adjustments/{adjustment_id}/approve", headers=executive)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "status"


async def test_rejected_request_changes_nothing_and_requester_cannot_decide(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    executive, admin = await auth("exec"), await auth("admin")
    _, months = await rep_targets(session, demo.user("rep2"))
    nov = months["11"]
    own = await adjust(client, executive, nov.id, nov.amount * 2)
    assert own.json()["adjustment"]["status"] == "pending"
    own_id = own.json()["adjustment"]["id"]
    assert (await client.post(f"/api/v1/adjustments/{own_id}/approve", headers=executive)).status_code == 403

    rejected = await client.post(
        f"/api/v1/adjustments/{own_id}/reject", headers=admin, json={"note": "Not this quarter"}
    )
    assert rejected.status_code == 200 and rejected.json()["adjustment"]["status"] == "rejected"
    assert (
        Decimal((await client.get(f"/api/v1/targets/{nov.id}", headers=admin)).json()["amount"]) == nov.amount
    )
    actions = (
        await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "target_adjustment"))
    ).all()
    assert sorted(actions) == ["adjustment.rejected", "adjustment.requested"]


async def test_year_targets_always_need_approval_and_december_can_be_adjusted(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager = await auth("manager1")
    year, months = await rep_targets(session, demo.user("rep1"))
    small_year_move = await adjust(
        client, manager, year.id, (year.amount * Decimal("1.01")).quantize(Decimal("0.01"))
    )
    assert small_year_move.status_code == 201
    assert small_year_move.json()["adjustment"]["status"] == "pending"

    # December rebalances over the open months left (November here); the year stands.
    december = await adjust(client, manager, months["12"].id, months["12"].amount + 1)
    assert december.status_code == 201 and december.json()["adjustment"]["status"] == "applied"
    after = await amounts(client, manager, year.id)
    assert after[str(months["12"].id)] == months["12"].amount + 1
    assert after[str(months["11"].id)] == months["11"].amount - 1
    assert sum(after.values(), Decimal(0)) == year.amount


async def test_bad_adjustments_name_the_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager = await auth("manager1")
    _, months = await rep_targets(session, demo.user("rep1"))
    nov = months["11"]
    for body, status, field in (
        ({"new_amount": "-1", "reason": "x"}, 422, "new_amount"),
        ({"new_amount": str(nov.amount), "reason": "x"}, 422, "new_amount"),
        ({"new_amount": "10", "reason": ""}, 400, "reason"),
        ({"new_amount": "10"}, 400, "reason"),
        ({"new_amount": "ten", "reason": "x"}, 400, "new_amount"),
    ):
        response = await client.post(f"/api/v1/targets/{nov.id}/adjustments", headers=manager, json=body)
        assert response.status_code == status, (body, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}


async def test_org_siblings_absorb_and_weekly_children_are_rescaled(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    created = await client.post(
        "/api/v1/targets",
        headers=manager,
        json={
            "scope": "org_unit",
            "scope_id": str(demo.units["Shanghai Team 1"]),
            "metric": "revenue",
            "granularity": "month",
            "period_start": "2027-01-01",
            "amount": "30000",
        },
    )
    team = created.json()
    reps = (
        await client.post(
            f"/api/v1/targets/{team['id']}/breakdown",
            headers=manager,
            json={"dimension": "org", "method": "even"},
        )
    ).json()["children"]
    rep1 = next(r for r in reps if r["scope_id"] == str(demo.user("rep1")))
    weeks = await client.post(
        f"/api/v1/targets/{rep1['id']}/breakdown",
        headers=manager,
        json={"dimension": "time", "granularity": "week"},
    )
    assert weeks.status_code == 201
    await client.post(f"/api/v1/targets/{team['id']}/submit", headers=manager)
    assert (await client.post(f"/api/v1/targets/{team['id']}/approve", headers=executive)).json()[
        "moved"
    ] == 1 + 2 + len(weeks.json()["children"])

    response = await adjust(client, manager, rep1["id"], "16000")

    assert response.json()["adjustment"]["status"] == "applied"
    team_children = await amounts(client, manager, team["id"])
    assert team_children[rep1["id"]] == Decimal("16000") and sum(
        team_children.values(), Decimal(0)
    ) == Decimal("30000")
    week_amounts = await amounts(client, manager, rep1["id"])
    assert sum(week_amounts.values(), Decimal(0)) == Decimal("16000")
