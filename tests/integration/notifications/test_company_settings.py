"""Quiet hours and the second-reminder window are read from the recipient's own company.

Two companies with different settings: each user is held by their company's rules, whichever
company's settings row the database happens to return first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.services import provide_services
from server.db.models import Notification, OrgSettings, OrgUnit, Task, User
from server.jobs.registry import run_job
from server.services.notifications.outbox import NotificationsService
from tests.conftest import DEFAULT_NOW, Demo, MutableClock
from tests.fakepush import push_settings

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return push_settings(settings)


async def second_company(sessionmaker: Maker, **rules: object) -> UUID:
    """A company in Shanghai with its own settings and one rep; returns the rep's id."""
    async with sessionmaker() as session:
        company = OrgUnit(name="Other Co", kind="company", timezone="Asia/Shanghai")
        session.add(company)
        await session.flush()
        session.add(OrgSettings(company_id=company.id, **rules))
        rep = User(
            email="other.rep@example.com", name="Other Rep", role="rep",
            org_unit_id=company.id, timezone="Asia/Shanghai",
        )  # fmt: skip
        session.add(rep)
        await session.commit()
        return rep.id


async def test_quiet_hours_are_the_recipients_companys(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo
) -> None:
    other_rep = await second_company(sessionmaker, quiet_start="23:00", quiet_end="06:00")
    clock.set(datetime(2026, 11, 18, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai, for both reps
    async with provide_services(sessionmaker, settings, clock) as services:
        notifications = services.get(NotificationsService)
        await notifications.notify(demo.user("rep1"), "overdue_task", "t", "b", "demo")
        await notifications.notify(other_rep, "overdue_task", "t", "b", "other")
    async with sessionmaker() as session:
        rows = {n.dedup_key: n for n in await session.scalars(select(Notification))}
    assert rows["demo"].deliver_after == datetime(2026, 11, 18, 23, 0, tzinfo=UTC), "21:00-07:00: held"
    assert rows["other"].deliver_after == clock.now(), "23:00-06:00: 22:00 is not quiet"


async def test_second_reminder_window_is_the_reps_companys(
    sessionmaker: Maker, settings: Settings, demo: Demo
) -> None:
    other_rep = await second_company(sessionmaker, reminder_second_window_h=1)
    async with sessionmaker() as session:
        await session.execute(
            update(OrgSettings)
            .where(OrgSettings.company_id == demo.company_id)
            .values(reminder_second_window_h=3)
        )
        for rep in (demo.user("rep1"), other_rep):
            due = DEFAULT_NOW - timedelta(hours=1)
            session.add(Task(rep_id=rep, local_date=due.date(), due_at=due, kind="custom", source="manager",
                             title="Call back", status="planned"))  # fmt: skip
        await session.commit()

    async def remind(at: datetime) -> set[UUID]:
        await run_job("remind-overdue", sessionmaker, settings, at, force_slot=at.isoformat())
        async with sessionmaker() as session:
            second = select(Notification.user_id).where(Notification.dedup_key.like("%:2"))
            return set((await session.scalars(second)).all())

    assert await remind(DEFAULT_NOW) == set()
    assert await remind(DEFAULT_NOW + timedelta(hours=1)) == {other_rep}, "1 h window: the other rep only"
    assert await remind(DEFAULT_NOW + timedelta(hours=2)) == {other_rep}, "3 h window: not yet for rep1"
    assert await remind(DEFAULT_NOW + timedelta(hours=3)) == {other_rep, demo.user("rep1")}
