"""The planner's choices: reasons, capacity, soft quotas, route order, promises, pins, plan gap,
and regenerate keeping what is done."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import (
    Checkin,
    Customer,
    DailyPlan,
    Opportunity,
    OpportunityStageChange,
    Order,
    Promise,
    Target,
    Task,
    User,
)
from server.domain.routing import haversine_m, route_order
from server.domain.scoring import DEFAULT_WEIGHTS, REASON_ORDER
from server.jobs.registry import run_job
from tests.conftest import Demo

TODAY = date(2026, 11, 18)  # rep1 (Shanghai) at the default test clock, 10:00 local
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


async def plan_today(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    await run_job("plan-day", sessionmaker, settings, NOW, force_slot=f"test-{uuid4()}")


async def tasks_of(session: AsyncSession, rep_id: UUID, day: date = TODAY) -> list[Task]:
    stmt = select(Task).where(Task.rep_id == rep_id, Task.local_date == day).order_by(Task.route_order)
    return list((await session.scalars(stmt)).all())


async def shape_customers(session: AsyncSession, rep_id: UUID, grades: list[str]) -> list[UUID]:
    """Give the rep's customers these grades ("P" = prospect), all long unvisited, no orders, no
    open deals (the seeded ones would make visit candidates of their own)."""
    ids = list(
        (
            await session.scalars(
                select(Customer.id).where(Customer.owner_rep_id == rep_id).order_by(Customer.external_ref)
            )
        ).all()
    )
    assert len(ids) >= len(grades)
    await session.execute(delete(Order).where(Order.customer_id.in_(ids)))
    deals = select(Opportunity.id).where(Opportunity.customer_id.in_(ids))
    await session.execute(
        delete(OpportunityStageChange).where(OpportunityStageChange.opportunity_id.in_(deals))
    )
    await session.execute(delete(Opportunity).where(Opportunity.customer_id.in_(ids)))
    for customer_id, grade in zip(ids, grades + ["closed"] * (len(ids) - len(grades)), strict=True):
        await session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(
                grade="D" if grade in ("P", "closed") else grade,
                status={"P": "prospect", "closed": "closed"}.get(grade, "active"),
                last_visit_on=TODAY - timedelta(days=100),
                last_order_on=None,
                next_visit_due=None,
            )
        )
    await session.commit()
    return ids[: len(grades)]


async def test_reasons_are_present_and_readable(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    await plan_today(sessionmaker, settings)
    async with sessionmaker() as session:
        tasks = await tasks_of(session, demo.user("rep1"))
    assert len(tasks) == 8
    for task in tasks:
        assert task.reasons, "every planned task says why"
        for reason in task.reasons:
            assert reason["code"] in REASON_ORDER
            assert isinstance(reason["text"], str) and len(reason["text"]) > 8 and "{" not in reason["text"]
            assert reason["weight"] > 0
        assert abs(sum(r["weight"] for r in task.reasons) - task.score) < 0.011
        assert [r["weight"] for r in task.reasons] == sorted(
            (r["weight"] for r in task.reasons), reverse=True
        )
    assert [t.rank for t in sorted(tasks, key=lambda t: (-t.score, str(t.id)))] == list(range(1, 9))


async def test_capacity_and_soft_quotas(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        # Due A's come first (never left for tomorrow); A's seen yesterday are not due, and the
        # quotas then share the day among the due B's, C's and prospects: B 3, C 2, prospects 1,
        # the last slot by score (a B).
        ids = await shape_customers(session, rep1, ["A"] * 8 + ["B"] * 5 + ["C"] * 4 + ["D"] + ["P"] * 2)
        await session.execute(
            update(Customer).where(Customer.id.in_(ids[3:8])).values(last_visit_on=TODAY - timedelta(days=1))
        )
        await session.execute(update(User).where(User.id == rep1).values(daily_capacity=10))
        await session.commit()
    await plan_today(sessionmaker, settings)
    async with sessionmaker() as session:
        tasks = await tasks_of(session, rep1)
        customers = {c.id: c for c in (await session.scalars(select(Customer).where(Customer.id.in_(ids))))}
    buckets = Counter(
        "P" if customers[t.customer_id].status == "prospect" else customers[t.customer_id].grade
        for t in tasks
    )
    assert len(tasks) == 10
    assert buckets == {"A": 3, "B": 4, "C": 2, "P": 1}
    assert {t.customer_id for t in tasks} >= set(ids[:3])  # every due A


async def test_quotas_are_soft_and_capacity_is_the_limit(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        ids = await shape_customers(session, rep1, ["A"] * 12 + ["B"])  # no C, no prospects: A fills in
        await session.execute(  # A's seen three days ago: not due, so the due B gets its quota slot
            update(Customer).where(Customer.id.in_(ids[:12])).values(last_visit_on=TODAY - timedelta(days=3))
        )
        await session.execute(update(User).where(User.id == rep1).values(daily_capacity=6))
        await session.commit()
    await plan_today(sessionmaker, settings)
    async with sessionmaker() as session:
        tasks = await tasks_of(session, rep1)
        grades = Counter(
            (
                await session.scalars(
                    select(Customer.grade).where(Customer.id.in_([t.customer_id for t in tasks]))
                )
            ).all()
        )
        plan = await session.scalar(select(DailyPlan).where(DailyPlan.rep_id == rep1))
    assert grades == {"A": 5, "B": 1}
    assert plan is not None and plan.stats["selected"] == 6 and plan.stats["capacity"] == 6


async def test_due_a_customers_take_the_day_before_other_grades(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        await shape_customers(session, rep1, ["A"] * 7 + ["B"] * 3 + ["P"])  # all 100 days unvisited
        await session.execute(update(User).where(User.id == rep1).values(daily_capacity=6))
        await session.commit()
    await plan_today(sessionmaker, settings)
    async with sessionmaker() as session:
        tasks = await tasks_of(session, rep1)
        grades = Counter(
            (
                await session.scalars(
                    select(Customer.grade).where(Customer.id.in_([t.customer_id for t in tasks]))
                )
            ).all()
        )
        plan = await session.scalar(select(DailyPlan).where(DailyPlan.rep_id == rep1))
    assert grades == {"A": 6}
    assert plan is not None and plan.stats["must_visit"] == 6 and plan.stats["mandatory"] == 0
    assert all(any(r["code"] == "due" for r in t.reasons) for t in tasks)


async def test_route_order_starts_from_the_reps_start_point(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    await plan_today(sessionmaker, settings)
    async with sessionmaker() as session:
        rep = await session.get_one(User, rep1)
        tasks = await tasks_of(session, rep1)
        where = {c.id: (c.lat, c.lng) for c in await session.scalars(select(Customer))}
        plan = await session.scalar(select(DailyPlan).where(DailyPlan.rep_id == rep1))
    start = (rep.start_lat, rep.start_lng)
    assert [t.route_order for t in tasks] == list(range(1, 9))
    by_rank = sorted(tasks, key=lambda t: t.rank or 0)
    expected = route_order(start, [(t.id, *where[t.customer_id]) for t in by_rank])
    assert [t.id for t in tasks] == expected
    first = tasks[0]
    assert first.distance_m == round(haversine_m(*start, *where[first.customer_id]), 1)
    for before, after in pairwise(tasks):
        leg = haversine_m(*where[before.customer_id], *where[after.customer_id])
        assert after.distance_m == round(leg, 1)
    assert plan is not None and abs(plan.stats["route_m"] - sum(t.distance_m or 0 for t in tasks)) <= 1
    in_rank_order = haversine_m(*start, *where[by_rank[0].customer_id]) + sum(
        haversine_m(*where[a.customer_id], *where[b.customer_id]) for a, b in pairwise(by_rank)
    )
    assert plan.stats["route_m"] <= in_rank_order + 1


async def test_promise_due_is_planned_first_as_a_follow_up(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        ids = await shape_customers(session, rep1, ["A"] * 12 + ["D"])
        low = ids[-1]  # grade D, would never make the cut on cadence against twelve A customers
        session.add(
            Promise(
                id=uuid4(),
                customer_id=low,
                rep_id=rep1,
                text="Bring the new price list",
                due_on=TODAY - timedelta(days=1),
                status="open",
                created_at=NOW,
            )
        )
        await session.commit()
    await plan_today(sessionmaker, settings)
    async with sessionmaker() as session:
        tasks = await tasks_of(session, rep1)
    promised = next(t for t in tasks if t.customer_id == low)
    assert promised.kind == "follow_up" and promised.title == "Bring the new price list"
    assert promised.promise_id is not None
    assert any(
        r["code"] == "promise_due" and "Bring the new price list" in r["text"] for r in promised.reasons
    )
    assert len(tasks) == 8


async def test_plan_gap_reason_uses_the_reps_remaining_monthly_gap(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        month_to_date = await session.scalar(
            select(func.coalesce(func.sum(Order.amount), 0)).where(
                Order.rep_id == rep1, Order.ordered_on.between(date(2026, 11, 1), date(2026, 11, 30))
            )
        )
        await session.execute(
            update(Target)
            .where(
                Target.scope_id == rep1,
                Target.metric == "revenue",
                Target.granularity == "month",
                Target.period_start == date(2026, 11, 1),
            )
            .values(amount=Decimal(month_to_date) + Decimal("20000"))
        )
        await session.commit()
    await plan_today(sessionmaker, settings)
    async with sessionmaker() as session:
        plan = await session.scalar(select(DailyPlan).where(DailyPlan.rep_id == rep1))
        tasks = await tasks_of(session, rep1)
    assert plan is not None and Decimal(plan.stats["remaining_gap"]) == Decimal("20000.00")
    gap_reasons = [r for t in tasks for r in t.reasons if r["code"] == "plan_gap"]
    assert gap_reasons and all("of your remaining gap" in r["text"] for r in gap_reasons)


async def test_manager_pin_for_a_later_day_is_kept_and_counts_against_capacity(
    client: AsyncTestClient[Any],
    auth: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    demo: Demo,
) -> None:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        customer = await session.scalar(
            # the most recently visited: its own cadence reason stays below the pin's
            select(Customer.id)
            .where(Customer.owner_rep_id == rep1, Customer.status == "active")
            .order_by(Customer.last_visit_on.desc(), Customer.id)
            .limit(1)
        )
    pinned = await client.post(
        f"/api/v1/reps/{rep1}/tasks",
        json={"customer_id": str(customer), "local_date": "2026-11-19"},
        headers=await auth("manager1"),
    )
    assert pinned.status_code == 201, pinned.text
    await run_job("plan-day", sessionmaker, settings, datetime(2026, 11, 18, 22, 30, tzinfo=UTC))
    async with sessionmaker() as session:
        tasks = await tasks_of(session, rep1, date(2026, 11, 19))
    pin = next(t for t in tasks if t.customer_id == customer)
    assert pin.source == "manager" and pin.id == UUID(pinned.json()["id"])
    assert pin.reasons[0]["code"] == "manager_pin" and {r["code"] for r in pin.reasons} > {"manager_pin"}
    assert len(tasks) == 8 and [t.customer_id for t in tasks].count(customer) == 1
    # A pin is a flat +manager_pin on the customer's own score (server/domain/scoring.py), so it
    # ranks by that score among the day's tasks; first place is not promised by the design.
    assert pin.score >= DEFAULT_WEIGHTS.manager_pin
    assert pin.rank == 1 + sum(1 for t in tasks if t.score > pin.score) and pin.route_order is not None


async def test_regenerate_keeps_done_and_replaces_planned(
    client: AsyncTestClient[Any],
    auth: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    demo: Demo,
) -> None:
    rep1 = demo.user("rep1")
    await plan_today(sessionmaker, settings)
    headers = await auth("rep1")
    before = (await client.get("/api/v1/me/tasks", headers=headers)).json()["tasks"]
    done, skipped = before[0], before[1]
    assert (
        await client.patch(
            f"/api/v1/tasks/{done['id']}", json={"status": "done", "note": "ok"}, headers=headers
        )
    ).status_code == 200
    assert (
        await client.patch(
            f"/api/v1/tasks/{skipped['id']}",
            json={"status": "skipped", "reason": "customer_closed"},
            headers=headers,
        )
    ).status_code == 200

    regenerated = await client.post("/api/v1/me/plan/regenerate", headers=headers)
    assert regenerated.status_code == 200, regenerated.text
    after = {t["id"]: t for t in regenerated.json()["tasks"]}
    assert after[done["id"]]["status"] == "done" and after[done["id"]]["status_note"] == "ok"
    assert after[skipped["id"]]["status"] == "skipped"
    replaced = {t["id"] for t in before} - {done["id"], skipped["id"]}
    assert replaced.isdisjoint(after), "still-planned planner tasks are replaced"
    open_tasks = [t for t in after.values() if t["status"] == "planned"]
    assert len(open_tasks) == 7  # capacity 8 minus the done one; a skip frees its slot
    customers = [t["customer"]["id"] for t in after.values()]
    assert len(customers) == len(set(customers))
    async with sessionmaker() as session:
        plans = await session.scalar(
            select(func.count()).select_from(DailyPlan).where(DailyPlan.rep_id == rep1)
        )
    assert plans == 1


async def test_regenerate_keeps_a_task_with_a_visit_in_progress(
    client: AsyncTestClient[Any],
    auth: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    demo: Demo,
) -> None:
    rep1 = demo.user("rep1")
    await plan_today(sessionmaker, settings)
    async with sessionmaker() as session:
        visiting = (await tasks_of(session, rep1))[0]
        session.add(
            Checkin(
                id=uuid4(),
                rep_id=rep1,
                customer_id=visiting.customer_id,
                task_id=visiting.id,
                checked_in_at=NOW,
                received_at=NOW,
                geo_status="verified",
                flags=[],
                request_hash="test",
                extra={},
            )
        )
        await session.commit()
    response = await client.post("/api/v1/me/plan/regenerate", headers=await auth("rep1"))
    assert response.status_code == 200
    ids = {t["id"] for t in response.json()["tasks"]}
    assert str(visiting.id) in ids and len(ids) == 8
