"""Days off (issue 17): Today on a weekend or holiday says so, plans nothing, and plans the day
only when the rep asks ("Plan my day anyway")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import DailyPlan, Holiday, Task
from tests.conftest import Demo, MutableClock, login_session


async def plans_of(sessionmaker: async_sessionmaker[AsyncSession], rep_id: Any, day: date) -> int:
    async with sessionmaker() as session:
        stmt = (
            select(func.count())
            .select_from(DailyPlan)
            .where(DailyPlan.rep_id == rep_id, DailyPlan.local_date == day)
        )
        return int(await session.scalar(stmt) or 0)


async def test_a_weekend_is_a_day_off_until_the_rep_asks(
    client: AsyncTestClient[Any],
    demo: Demo,
    clock: MutableClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    saturday = date(2026, 11, 21)
    clock.set(datetime(2026, 11, 21, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    csrf = await login_session(client, "rep1")
    html = (await client.get("/")).text
    assert "Today is a day off" in html and "Plan my day anyway" in html
    assert 'id="task-list"' not in html
    assert await plans_of(sessionmaker, demo.user("rep1"), saturday) == 0
    answer = await client.post("/plan/day-off", data={"_csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert await plans_of(sessionmaker, demo.user("rep1"), saturday) == 1
    html = (await client.get("/")).text
    assert 'id="task-list"' in html and "Today is a day off" not in html


async def test_a_holiday_of_the_company_is_a_day_off(
    client: AsyncTestClient[Any],
    demo: Demo,
    clock: MutableClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    wednesday = date(2026, 11, 18)
    async with sessionmaker() as session:
        session.add(Holiday(org_unit_id=demo.company_id, day=wednesday, name="Company day"))
        await session.commit()
    await login_session(client, "rep1")
    html = (await client.get("/")).text
    assert "Today is a day off" in html
    assert await plans_of(sessionmaker, demo.user("rep1"), wednesday) == 0
    async with sessionmaker() as session:
        tasks = await session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.rep_id == demo.user("rep1"), Task.local_date == wednesday)
        )
    assert tasks == 0  # nothing to go missed tomorrow
