"""Approvals that move: the next person hears of a submitted, approved or returned plan and of an
adjustment to decide (inbox + push, their language); the returned plan opens in an editable form;
re-plan and version comparison."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Notification, Target, User
from tests.conftest import Demo, login_session
from tests.integration.plans.test_plans_lifecycle import act, new_team_plan


async def approvals_to(sessionmaker: async_sessionmaker[AsyncSession], user_id: Any) -> list[Notification]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.kind == "approval")
            .order_by(Notification.created_at, Notification.dedup_key)
        )
        return list(rows)


async def test_submit_return_resubmit_approve_each_tell_the_next_person(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Any,
) -> None:
    async with sessionmaker() as session:  # the executive reads Chinese
        await session.execute(update(User).where(User.id == demo.user("exec")).values(locale="zh_Hans"))
        await session.commit()
    manager, executive = await auth("manager1"), await auth("exec")
    plan = await new_team_plan(client, manager, demo)
    assert await approvals_to(sessionmaker, demo.user("exec")) == []

    assert (await act(client, manager, plan["id"], "submit")).status_code == 200
    [to_approve] = await approvals_to(sessionmaker, demo.user("exec"))
    assert to_approve.url == f"/plans/targets/{plan['id']}"
    assert to_approve.title == "待审批计划：Shanghai Team 1"  # in the executive's language

    clock.advance(minutes=5)
    returned = await act(client, executive, plan["id"], "return", comment="Team 1 can do 10% more")
    assert returned.status_code == 200
    [told] = await approvals_to(sessionmaker, demo.user("manager1"))
    assert told.title == "Plan returned: Shanghai Team 1" and "Team 1 can do 10% more" in told.body

    # The returned plan opens in an editable form with the executive's comment.
    csrf = await login_session(client, "manager1")
    page = (await client.get(f"/plans/targets/{plan['id']}")).text
    form = page.split('data-form="edit-plan"', 1)[1].split("</form>", 1)[0]
    assert "The executive asked: Team 1 can do 10% more" in form and 'name="amount"' in form
    saved = await client.post(
        f"/plans/targets/{plan['id']}/edit",
        data={"_csrf_token": csrf, "amount": "264000"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    bad = await client.post(
        f"/plans/targets/{plan['id']}/edit",
        data={"_csrf_token": csrf, "amount": "lots"},
        follow_redirects=True,
    )
    assert "Enter the new amount." in bad.text
    async with sessionmaker() as session:
        assert await session.scalar(select(Target.amount).where(Target.id == plan["id"])) == Decimal(
            "264000.00"
        )

    clock.advance(minutes=5)
    assert (await act(client, manager, plan["id"], "submit")).status_code == 200
    assert len(await approvals_to(sessionmaker, demo.user("exec"))) == 2  # told again
    clock.advance(minutes=5)
    assert (await act(client, executive, plan["id"], "approve")).status_code == 200
    approved = (await approvals_to(sessionmaker, demo.user("manager1")))[-1]
    assert approved.title == "Plan approved: Shanghai Team 1"


async def test_an_adjustment_beyond_the_allowance_goes_to_the_executive_and_back(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    async with sessionmaker() as session:
        target = await session.scalar(
            select(Target).where(
                Target.scope == "org_unit",
                Target.scope_id == demo.units["Shanghai Team 1"],
                Target.granularity == "month",
                Target.metric == "revenue",
                Target.status == "approved",
                Target.period_start == date(2026, 11, 1),
            )
        )
        assert target is not None
    response = await client.post(
        f"/api/v1/targets/{target.id}/adjustments",
        headers=manager,
        json={
            "new_amount": str((target.amount * Decimal("1.5")).quantize(Decimal("0.01"))),
            "reason": "big deal",
        },
    )
    assert response.status_code == 201, response.text
    adjustment = response.json()["adjustment"]
    assert adjustment["status"] == "pending"
    [to_decide] = await approvals_to(sessionmaker, demo.user("exec"))
    assert to_decide.url == "/plans/approvals" and "big deal" in to_decide.body
    decided = await client.post(
        f"/api/v1/adjustments/{adjustment['id']}/reject", headers=executive, json={"note": "not this month"}
    )
    assert decided.status_code == 200, decided.text
    [answer] = await approvals_to(sessionmaker, demo.user("manager1"))
    assert answer.title == "Adjustment rejected: Shanghai Team 1" and "not this month" in answer.body


async def test_replan_and_compare_versions_side_by_side(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    manager, executive = await auth("manager1"), await auth("exec")
    plan = await new_team_plan(client, manager, demo)
    assert (await act(client, manager, plan["id"], "submit")).status_code == 200
    assert (await act(client, executive, plan["id"], "approve")).status_code == 200
    csrf = await login_session(client, "manager1")
    drafted = await client.post(
        f"/plans/targets/{plan['id']}/replan",
        data={"_csrf_token": csrf, "amount": "300000"},
        follow_redirects=False,
    )
    assert drafted.status_code == 303
    location = drafted.headers["location"]
    assert location.endswith(f"/compare?with={plan['id']}")
    new_id = location.split("/plans/targets/", 1)[1].split("/", 1)[0]
    # A re-plan is not broken down itself (the plans ledger re-splits the approved breakdown when
    # it is approved), so the compare page shows that re-split per child before anyone approves.
    page = await client.get(location)
    assert page.status_code == 200
    assert 'data-note="projected"' in page.text
    table = page.text.split('data-table="compare"', 1)[1].split("</table>", 1)[0]
    total = table.split('data-row="total"', 1)[1].split("</tr>", 1)[0]
    assert "240,000.00" in total and "300,000.00" in total and "+$60,000.00" in total
    assert table.count("+$30,000.00") == 2  # each of the two reps: 120,000 -> 150,000
    assert (await act(client, manager, new_id, "submit")).status_code == 200
    assert (await act(client, executive, new_id, "approve")).status_code == 200
    async with sessionmaker() as session:
        reps = (await session.scalars(select(Target.amount).where(Target.parent_id == UUID(new_id)))).all()
    assert sorted(reps) == [Decimal("150000.00")] * 2, "approval re-split the breakdown as compared"
    wrong = await client.get(f"/plans/targets/{new_id}/compare?with={new_id}")
    assert wrong.status_code == 422


async def test_an_executives_own_submission_is_announced_to_whoever_four_eyes_lets_decide(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    executive, admin = await auth("exec"), await auth("admin")
    created = await client.post("/api/v1/targets", headers=executive, json={
        "scope": "org_unit", "scope_id": str(demo.company_id), "metric": "revenue", "granularity": "year",
        "period_start": "2027-01-01", "amount": "5000000"})  # fmt: skip
    assert created.status_code == 201, created.text
    plan = created.json()["id"]
    assert (await act(client, executive, plan, "submit")).status_code == 200
    assert await approvals_to(sessionmaker, demo.user("exec")) == [], "never the submitter themself"
    [to_decide] = await approvals_to(sessionmaker, demo.user("admin"))  # the only other approver
    assert to_decide.url == f"/plans/targets/{plan}"
    assert (await act(client, admin, plan, "approve")).status_code == 200
    [approved] = await approvals_to(sessionmaker, demo.user("exec"))
    assert approved.title.startswith("Plan approved")
