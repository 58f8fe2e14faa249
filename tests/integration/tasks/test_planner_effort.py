"""A played week of plan-day runs follows the company's effort split by grade; open deals and
RFM scores enter the plan with their reasons (docs/planner.md "Effort by grade", "Deals")."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import Customer, DailyPlan, Opportunity, OpportunityStage, OrgSettings, Task, User
from server.domain.effort import EFFORT_TOLERANCE
from server.jobs.registry import run_job
from tests.conftest import Demo
from tests.integration.tasks.test_planner import shape_customers

MONDAY = date(2026, 11, 16)
BOOK = ["A"] * 6 + ["B"] * 6 + ["C"] * 5 + ["P"] * 3


async def plan_day(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, day: date) -> None:
    at = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    await run_job("plan-day", sessionmaker, settings, at, force_slot=f"test-{uuid4()}")


async def work_the_day(session: AsyncSession, rep_id: UUID, day: date) -> list[UUID]:
    """The rep does every planned task of the day: done, customers visited that day."""
    tasks = (await session.scalars(select(Task).where(Task.rep_id == rep_id, Task.local_date == day))).all()
    visited = [t.customer_id for t in tasks if t.customer_id is not None]
    await session.execute(update(Task).where(Task.id.in_([t.id for t in tasks])).values(status="done"))
    await session.execute(update(Customer).where(Customer.id.in_(visited)).values(last_visit_on=day))
    await session.commit()
    return visited


async def fresh_week(session: AsyncSession, rep_id: UUID) -> dict[UUID, str]:
    """rep1's book shaped as BOOK (all long unvisited), capacity 4, nothing planned this week."""
    ids = await shape_customers(session, rep_id, BOOK)
    await session.execute(delete(Task).where(Task.rep_id == rep_id, Task.local_date >= MONDAY - timedelta(7)))
    await session.execute(delete(DailyPlan).where(DailyPlan.rep_id == rep_id, DailyPlan.local_date >= MONDAY))
    await session.execute(update(User).where(User.id == rep_id).values(daily_capacity=4))
    await session.commit()
    return dict(zip(ids, BOOK, strict=True))


@pytest.mark.parametrize(
    "split",
    [
        {"A": Decimal("0.4"), "B": Decimal("0.3"), "C": Decimal("0.2"), "P": Decimal("0.1")},
        {"A": Decimal("0.5"), "B": Decimal("0.25"), "C": Decimal("0.15"), "P": Decimal("0.1")},
    ],
)
async def test_a_week_of_plans_follows_the_company_split(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo, split: dict[str, Decimal]
) -> None:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        book = await fresh_week(session, rep1)
        await session.execute(
            update(OrgSettings)
            .where(OrgSettings.company_id == demo.company_id)
            .values(effort_a=split["A"], effort_b=split["B"], effort_c=split["C"], effort_prospect=split["P"])
        )
        await session.commit()
    week: Counter[str] = Counter()
    for offset in range(5):
        day = MONDAY + timedelta(days=offset)
        await plan_day(sessionmaker, settings, day)
        async with sessionmaker() as session:
            week.update(book[c] for c in await work_the_day(session, rep1, day))
    assert sum(week.values()) == 20  # capacity 4 x 5 working days
    for bucket, share in split.items():
        assert abs(week[bucket] / 20 - float(share)) <= EFFORT_TOLERANCE, (bucket, dict(week))
    async with sessionmaker() as session:
        friday = await session.scalar(
            select(DailyPlan).where(DailyPlan.rep_id == rep1, DailyPlan.local_date == MONDAY + timedelta(4))
        )
    assert friday is not None and sum(friday.stats["week_before"].values()) == 16  # Monday-Thursday


async def test_an_open_deal_near_its_close_or_stale_makes_a_visit_with_its_reason(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        book = await fresh_week(session, rep1)
        c_customer = next(c for c, grade in book.items() if grade == "C")
        # Everybody seen last Friday; the C customer 12 days ago: on cadence alone it would wait.
        await session.execute(
            update(Customer).where(Customer.id.in_(book)).values(last_visit_on=MONDAY - timedelta(days=3))
        )
        await session.execute(
            update(Customer)
            .where(Customer.id == c_customer)
            .values(last_visit_on=MONDAY - timedelta(days=12))
        )
        await session.execute(
            update(OrgSettings).where(OrgSettings.company_id == demo.company_id).values(deal_stale_days=10)
        )
        stage = await session.scalar(
            select(OpportunityStage).where(
                OpportunityStage.company_id == demo.company_id, OpportunityStage.name == "Proposal"
            )
        )
        assert stage is not None and stage.kind == "open"
        owner = await session.get_one(Customer, c_customer)
        session.add(
            Opportunity(
                id=uuid4(),
                company_id=demo.company_id,
                org_unit_id=owner.org_unit_id,
                customer_id=c_customer,
                title="Spring order",
                amount=Decimal("8000"),
                stage_id=stage.id,
                probability=50,
                expected_close=MONDAY + timedelta(days=9),
                owner_rep_id=rep1,
                stage_changed_at=datetime(2026, 11, 4, 3, 0, tzinfo=UTC),  # 12 days without a step
            )
        )
        await session.execute(
            update(Customer).where(Customer.id == c_customer).values(r_score=5, f_score=4, m_score=5)
        )
        await session.commit()
    await plan_day(sessionmaker, settings, MONDAY)
    async with sessionmaker() as session:
        task = await session.scalar(select(Task).where(Task.rep_id == rep1, Task.customer_id == c_customer))
    assert task is not None, "the deal puts its customer on the day"
    reasons = {r["code"]: r for r in task.reasons}
    assert reasons["opportunity"]["text"] == (
        "Deal 'Spring order' at Proposal, 12 days without a step, closes in 9 days"
    )
    assert reasons["opportunity"]["params"] == {
        "title": "Spring order",
        "stage": "Proposal",
        "stale_days": 12,
        "close_days": 9,
    }
    assert "due" not in reasons  # 12 of its 30 days: the deal brought it, not the cadence
    assert reasons["rfm"]["params"] == {"r": 5, "f": 4, "m": 5}
    assert reasons["plan_gap"]["params"]["pipeline"] == 4000.0  # 8,000 at 50%
    assert task.rank == 1  # ahead of the A's seen three days ago that fill the rest of the day
