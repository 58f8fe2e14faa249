"""The ±15% guard is cumulative against the last approved baseline, closed periods are locked,
any month (December too) can be adjusted in either mode, nobody approves their own plan or
adjustment, and the plan adds up after every one of these (checked from the raw rows)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db.models import AuditEntry, Target
from tests.conftest import Demo, MutableClock, bearer
from tests.integration.plans.plan_checks import plan_violations


async def month_of(session: AsyncSession, rep: Any, month: int) -> Target:
    session.expire_all()
    return (
        await session.scalars(
            select(Target).where(
                Target.scope_id == rep, Target.metric == "revenue", Target.status == "approved",
                Target.granularity == "month", Target.period_start == date(2026, month, 1),
            )
        )
    ).one()  # fmt: skip


async def adjust(
    client: AsyncTestClient[Any], headers: dict[str, str], target: Any, new: str, mode: str = "parent"
) -> Any:
    return await client.post(
        f"/api/v1/targets/{target}/adjustments",
        headers=headers,
        json={"new_amount": new, "reason": "Key account moved its order", "mode": mode},
    )


async def test_the_allowance_is_cumulative_to_the_cent(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    november = await month_of(session, demo.user("rep1"), 11)
    # An approved request sets a round baseline: 10,000.00.
    request = await adjust(client, manager, november.id, "10000.00")
    assert request.status_code == 201, request.text
    if request.json()["adjustment"]["status"] == "pending":
        decided = await client.post(f"/api/v1/adjustments/{request.json()['adjustment']['id']}/approve",
                                    headers=executive, json={"note": "ok"})  # fmt: skip
        assert decided.status_code == 200, decided.text
    assert (await month_of(session, demo.user("rep1"), 11)).baseline_amount == Decimal("10000.00")

    steps = [
        ("10500.00", "applied"),
        ("11000.00", "applied"),
        ("11500.00", "applied"),
        ("11501.00", "pending"),
    ]
    for amount, status in steps:  # 1000 -> 1150 -> 1265 style chaining cannot pass +15% in total
        response = await adjust(client, manager, november.id, amount)
        assert response.status_code == 201, response.text
        assert response.json()["adjustment"]["status"] == status, (amount, response.json())
        assert await plan_violations(session) == []
    reject = await client.post(
        f"/api/v1/adjustments/{response.json()['adjustment']['id']}/reject", headers=executive, json={}
    )
    assert reject.status_code == 200
    down = await adjust(client, manager, november.id, "8500.00")  # -15.00% of the baseline: direct
    assert down.json()["adjustment"]["status"] == "applied", down.text
    below = await adjust(client, manager, november.id, "8499.00")  # -15.01%: a request
    assert below.json()["adjustment"]["status"] == "pending", below.text
    assert await plan_violations(session) == []


async def test_rebalancing_absorbers_count_against_their_own_baseline(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager = await auth("manager1")
    november = await month_of(session, demo.user("rep1"), 11)
    december = await month_of(session, demo.user("rep1"), 12)
    moves = 0
    for _ in range(8):  # raising November again and again would drain December: not directly
        november = await month_of(session, demo.user("rep1"), 11)
        response = await adjust(
            client,
            manager,
            november.id,
            str((november.amount * Decimal("1.05")).quantize(Decimal("0.01"))),
            "rebalance",
        )
        assert response.status_code == 201, response.text
        if response.json()["adjustment"]["status"] == "pending":
            break
        moves += 1
    december_now = await month_of(session, demo.user("rep1"), 12)
    assert abs(december_now.amount - december.baseline_amount) <= december.baseline_amount * Decimal("0.15")
    assert moves < 8, "chained rebalancing must run into the allowance"
    assert await plan_violations(session) == []


async def test_closed_months_are_locked_except_for_an_executive_with_a_reason(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    october = await month_of(session, demo.user("rep1"), 10)  # ended before 18 November
    lower = str((october.amount * Decimal("0.9")).quantize(Decimal("0.01")))

    refused = await adjust(client, manager, october.id, lower)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "period_end"
    assert (await month_of(session, demo.user("rep1"), 10)).amount == october.amount

    done = await adjust(client, executive, october.id, lower)
    assert done.status_code == 201 and done.json()["adjustment"]["status"] == "applied", done.text
    audit = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "target.closed_period_changed",
                                     AuditEntry.entity_id == october.id)
        )
    ).one()  # fmt: skip
    assert audit.after["reason"] == "Key account moved its order"
    assert await plan_violations(session) == []


async def test_december_moves_the_year_or_rebalances_the_open_months(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession, clock: MutableClock
) -> None:
    manager = await auth("manager1")
    rep = demo.user("rep1")
    december = await month_of(session, rep, 12)
    year = await session.get(Target, december.parent_id)
    assert year is not None
    year_before = year.amount

    rebalance = await adjust(client, manager, december.id, str(december.amount + 100), "rebalance")
    assert rebalance.status_code == 201 and rebalance.json()["adjustment"]["status"] == "applied"
    await session.refresh(year)
    assert year.amount == year_before, "rebalance: the year stands, November gives the 100"
    assert (await month_of(session, rep, 11)).amount < (await month_of(session, rep, 11)).baseline_amount

    december = await month_of(session, rep, 12)
    moved = await adjust(client, manager, december.id, str(december.amount + 100), "parent")
    assert moved.status_code == 201 and moved.json()["adjustment"]["status"] == "applied"
    await session.refresh(year)
    assert year.amount == year_before + 100, "parent: the year moves with December"
    assert await plan_violations(session) == []

    clock.set(datetime(2026, 12, 10, 2, 0, tzinfo=UTC))  # November closed: nothing left to absorb
    manager = await bearer(client, "manager1")
    december = await month_of(session, rep, 12)
    alone = await adjust(client, manager, december.id, str(december.amount + 50), "rebalance")
    assert alone.status_code == 422 and alone.json()["errors"][0]["field"] == "mode"
    assert (await adjust(client, manager, december.id, str(december.amount + 50))).status_code == 201
    assert await plan_violations(session) == []


async def test_a_reps_month_moves_the_team_month_with_it(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager = await auth("manager1")
    rep = demo.user("rep1")
    november = await month_of(session, rep, 11)
    team_year = await session.get(Target, (await session.get(Target, november.parent_id)).parent_id)  # type: ignore[union-attr]
    assert team_year is not None
    team_november = (
        await session.scalars(select(Target).where(
            Target.scope_id == team_year.scope_id, Target.granularity == "month",
            Target.period_start == date(2026, 11, 1), Target.status == "approved"))
    ).one()  # fmt: skip
    before = team_november.amount
    raised = (november.amount * Decimal("1.10")).quantize(Decimal("0.01"))
    assert (await adjust(client, manager, november.id, str(raised))).status_code == 201
    await session.refresh(team_november)
    assert team_november.amount == before + (raised - november.amount)
    assert await plan_violations(session) == []


async def test_nobody_approves_their_own_plan_or_adjustment(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession, settings: Settings
) -> None:
    executive, admin, manager = await auth("exec"), await auth("admin"), await auth("manager1")
    created = await client.post("/api/v1/targets", headers=executive, json={
        "scope": "org_unit", "scope_id": str(demo.company_id), "metric": "revenue", "granularity": "year",
        "period_start": "2027-01-01", "amount": "5000000"})  # fmt: skip
    plan = created.json()["id"]
    assert (await client.post(f"/api/v1/targets/{plan}/submit", headers=executive)).status_code == 200
    own = await client.post(f"/api/v1/targets/{plan}/approve", headers=executive)
    assert own.status_code == 403 and own.json()["errors"][0]["field"] == "approver"

    settings.plan_exec_submission_approvers = "executive"  # configured: another executive only
    assert (await client.post(f"/api/v1/targets/{plan}/approve", headers=admin)).status_code == 403
    settings.plan_exec_submission_approvers = "executive,admin"
    assert (await client.post(f"/api/v1/targets/{plan}/approve", headers=admin)).status_code == 200

    november = await month_of(session, demo.user("rep1"), 11)
    big = await adjust(client, executive, november.id, str((november.amount * 2).quantize(Decimal("0.01"))))
    assert big.json()["adjustment"]["status"] == "pending"
    decision = f"/api/v1/adjustments/{big.json()['adjustment']['id']}/approve"
    assert (await client.post(decision, headers=executive, json={})).status_code == 403
    assert (await client.post(decision, headers=manager, json={})).status_code == 403
    assert (await client.post(decision, headers=admin, json={})).status_code == 200
    assert await plan_violations(session) == []


async def test_counted_targets_split_whole_and_progress_answers_for_any_stored_target(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, session: AsyncSession
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    rep = demo.user("rep1")
    created = await client.post("/api/v1/targets", headers=manager, json={
        "scope": "user", "scope_id": str(rep), "metric": "new_customers", "granularity": "year",
        "period_start": "2026-01-01", "amount": "10"})  # fmt: skip
    year = created.json()["id"]
    months = await client.post(f"/api/v1/targets/{year}/breakdown", headers=manager,
                               json={"dimension": "time", "granularity": "month"})  # fmt: skip
    amounts = [Decimal(m["amount"]) for m in months.json()["children"]]
    assert sum(amounts) == 10 and min(amounts) >= 0 and all(a == a.to_integral_value() for a in amounts)
    weeks = await client.post(f"/api/v1/targets/{year}/breakdown", headers=manager,
                              json={"dimension": "time", "granularity": "week"})  # fmt: skip
    assert weeks.status_code == 201
    assert min(Decimal(w["amount"]) for w in weeks.json()["children"]) >= 0
    assert (await client.post(f"/api/v1/targets/{year}/submit", headers=manager)).status_code == 200
    assert (await client.post(f"/api/v1/targets/{year}/approve", headers=executive)).status_code == 200
    for granularity in ("week", "year"):
        answer = await client.get(f"/api/v1/progress?scope=user&scope_id={rep}&metric=new_customers"
                                  f"&granularity={granularity}", headers=manager)  # fmt: skip
        assert answer.status_code == 200, answer.text

    # A legacy negative target and a weekend-only week: defined answers, never a 500.
    session.add_all([
        Target(id=uuid4(), scope="user", scope_id=rep, metric="visits", granularity="quarter",
               period_start=date(2026, 10, 1), period_end=date(2026, 12, 31), amount=Decimal(-5),
               status="approved", version=1),
        Target(id=uuid4(), scope="user", scope_id=rep, metric="revenue", granularity="week",
               period_start=date(2026, 11, 21), period_end=date(2026, 11, 22), amount=Decimal(0),
               status="approved", version=1),
    ])  # fmt: skip
    await session.commit()
    negative = await client.get(
        f"/api/v1/progress?scope=user&scope_id={rep}&metric=visits&granularity=quarter", headers=manager
    )
    assert negative.status_code == 200 and negative.json()["pace"] is None, negative.text
    weekend = await client.get(f"/api/v1/progress?scope=user&scope_id={rep}&granularity=week&as_of=2026-11-21",
                               headers=manager)  # fmt: skip
    assert weekend.status_code == 200 and weekend.json()["working_days_total"] == 0


async def test_the_seeded_plan_adds_up_in_both_dimensions(demo: Demo, session: AsyncSession) -> None:
    assert await plan_violations(session) == []
    team_months = (await session.scalars(select(Target).where(
        Target.scope == "org_unit", Target.granularity == "month", Target.status == "approved"))).all()  # fmt: skip
    assert len(team_months) >= 12 * 7, "company, regions and teams each have their months"
