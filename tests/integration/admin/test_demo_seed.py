"""The demo on first start (`make run` on an empty database): graded customers, orders linked to
the visits that took them, targets the history can meet, and a believable escalation picture."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.services import provide_services
from server.db.models import Checkin, Customer, Escalation, Order, User
from server.domain.pace import PaceStatus
from server.jobs.registry import run_job
from server.services.admin.seed import seed_demo
from server.services.plans.progress import ProgressService

FIRST_START = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # Wednesday morning in Shanghai, mid-month


async def test_first_start_looks_right(
    engine: AsyncEngine, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    clock = Clock(fixed=FIRST_START)
    result = await seed_demo(engine, settings, clock=clock)  # the defaults `make run` uses
    assert result["graded"] == result["customers"] == 600
    async with sessionmaker() as session:
        ungraded = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.computed_grade.is_(None))
        )
        assert ungraded == 0, "no customer shows 'Not graded yet'"
        grades = Counter((await session.scalars(select(Customer.grade))).all())
        assert grades["A"] and grades["B"] and grades["C"] and grades["D"] < 600 / 4, grades

        linked = await session.scalar(
            select(func.count()).select_from(Order).where(Order.checkin_id.is_not(None))
        )
        total = await session.scalar(select(func.count()).select_from(Order))
        assert 0.5 < linked / total < 0.9, (linked, total)
        order_visits = await session.scalar(
            select(func.count())
            .select_from(Checkin)
            .where(Checkin.outcome == "order", Checkin.order_amount.is_not(None))
        )
        assert order_visits == linked, "every linked order's visit says it took an order"
        mismatched = await session.scalar(
            select(func.count()).select_from(Order).join(Checkin, Checkin.id == Order.checkin_id)
            .where(Checkin.order_amount != Order.amount)
        )  # fmt: skip
        assert mismatched == 0
        this_month = await session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.ordered_on >= FIRST_START.date().replace(day=1))
        )
        assert this_month > 0

        users = (await session.execute(select(User.email, User.timezone, User.locale, User.role))).all()
        shanghai = [u for u in users if u.timezone == "Asia/Shanghai" and u.role != "admin"]
        assert shanghai and all(u.locale == "zh-CN" for u in shanghai)
        assert all(u.locale is None for u in users if u.timezone != "Asia/Shanghai")

    statuses: dict[str, Counter[PaceStatus]] = {}
    red_reps: set[Any] = set()
    async with provide_services(sessionmaker, settings, clock) as services:
        reps = (
            await services.session.execute(select(User.id, User.timezone).where(User.role == "rep"))
        ).all()
        for metric in ("revenue", "visits"):
            counts: Counter[PaceStatus] = Counter()
            for rep in reps:
                found = await services.get(ProgressService).for_one(
                    "user", rep.id, clock.local_date(rep.timezone), metric, "month"
                )
                assert found is not None, f"every rep has a {metric} target this month"
                counts[found.progress.status] += 1
                if found.progress.status == PaceStatus.RED:
                    red_reps.add(rep.id)
            statuses[metric] = counts
    assert 0 < len(red_reps) < len(reps) / 3, statuses
    for counts in statuses.values():
        assert counts[PaceStatus.NONE] == 0, "mid-month every rep's pace is judged"
        assert counts[PaceStatus.GREEN] > len(reps) / 2, statuses

    swept = await run_job("escalate", sessionmaker, settings, FIRST_START, force_slot="first-start")
    assert swept is not None
    async with sessionmaker() as session:
        severities = Counter((await session.scalars(select(Escalation.severity))).all())
    assert 0 < severities["red"] <= 2 * len(red_reps) + 2, severities
    assert severities["red"] < sum(severities.values()), "a mix, not a wall of red"
