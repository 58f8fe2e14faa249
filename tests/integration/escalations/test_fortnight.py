"""A played fortnight in Shanghai (Mon 7 – Sun 20 December 2026), clock moved, no sleeping, with a
weekend and a holiday (Wednesday 16 December):

- reminders only inside working hours on working days; one grouped reminder per rep per window;
  one manager copy per rep per window;
- Monday's digest and stand-up show Friday's misses; Thursday's (after the holiday) show Tuesday's,
  even when the day-closing sweep runs after the digest;
- the ladder climbs in business hours (the weekend and the holiday do not count);
- a rep exactly on pace at Friday's close is not yellow at 00:30 on Monday;
- a manager's resolve of a level-3 escalation is refused; the executive's is accepted.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.access import Scope
from server.core.services import provide_services
from server.db.models import Digest, Escalation, Holiday, Notification, OrgSettings, Task, User
from server.jobs.registry import run_job
from server.services.reviews.standup import StandupService
from server.services.tasks.tasks import TasksService
from tests.conftest import Demo, MutableClock, bearer
from tests.integration.escalations.test_ladder_scenario import hold_pace, quiet_december
from tests.integration.org.test_org_view import principal_of

SH = ZoneInfo("Asia/Shanghai")
HOLIDAY = date(2026, 12, 16)


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time in December 2026, as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SH).astimezone(UTC)


async def add_tasks(
    sessionmaker: async_sessionmaker[AsyncSession], rep_id: UUID, day: int, hours: list[int]
) -> list[UUID]:
    tasks = [
        Task(
            rep_id=rep_id,
            local_date=date(2026, 12, day),
            kind="visit",
            source="manager",
            title=f"Visit {day}/{hour}",
            status="planned",
            due_at=sh(day, hour),
        )
        for hour in hours
    ]
    async with sessionmaker() as session:
        session.add_all(tasks)
        await session.commit()
    return [t.id for t in tasks]


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, at: datetime) -> None:
    assert await run_job("escalate", sessionmaker, settings, at, force_slot=at.isoformat()) is not None


async def month_escalation(session: AsyncSession, rep_id: UUID) -> Escalation | None:
    return await session.scalar(
        select(Escalation)
        .where(Escalation.dedup_key == f"pace_revenue:user:{rep_id}:2026-12")
        .execution_options(populate_existing=True)
    )


@pytest.mark.heavy
async def test_a_played_fortnight(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: MutableClock,
) -> None:
    rep1, rep3, rep5 = demo.user("rep1"), demo.user("rep3"), demo.user("rep5")
    manager1 = demo.user("manager1")
    await quiet_december(sessionmaker, demo, {"rep1", "rep3", "rep5"})
    async with sessionmaker() as session:
        await session.execute(update(OrgSettings).values(work_start="09:00", work_end="18:00"))
        session.add(Holiday(org_unit_id=demo.company_id, day=HOLIDAY, name="Company day"))
        await session.commit()

    # --- The ladder in business hours, and pace as of the last completed working day ---------
    await hold_pace(sessionmaker, settings, rep5, date(2026, 12, 9), Decimal("0.85"))
    await hold_pace(sessionmaker, settings, rep1, date(2026, 12, 9), Decimal("1"))
    await hold_pace(sessionmaker, settings, rep3, date(2026, 12, 9), Decimal("1"))
    await sweep(sessionmaker, settings, sh(10, 10))  # Thursday 10:00: judged as of Wednesday
    async with sessionmaker() as session:
        opened = await month_escalation(session, rep5)
        assert opened is not None and (opened.severity, opened.level) == ("yellow", 1)
    await hold_pace(sessionmaker, settings, rep5, date(2026, 12, 10), Decimal("0.85"))
    await hold_pace(sessionmaker, settings, rep1, date(2026, 12, 10), Decimal("1"))
    await hold_pace(sessionmaker, settings, rep3, date(2026, 12, 10), Decimal("1"))
    await sweep(sessionmaker, settings, sh(11, 10, 30))  # Friday: 24 business hours have passed
    # Rep 1 (and Rep 3) exactly on pace at Friday's close.
    await hold_pace(sessionmaker, settings, rep1, date(2026, 12, 11), Decimal("1"))
    await hold_pace(sessionmaker, settings, rep3, date(2026, 12, 11), Decimal("1"))
    await hold_pace(sessionmaker, settings, rep5, date(2026, 12, 11), Decimal("0.85"))
    await sweep(sessionmaker, settings, sh(11, 20))
    await sweep(sessionmaker, settings, sh(13, 23))  # Sunday night: the weekend does not count
    async with sessionmaker() as session:
        climbing = await month_escalation(session, rep5)
        assert climbing is not None and climbing.level == 2
        assert climbing.level_changed_at == sh(11, 10)
    await sweep(sessionmaker, settings, sh(14, 0, 30))  # 00:30 on Monday
    async with sessionmaker() as session:
        assert await month_escalation(session, rep1) is None, (
            "on pace at Friday's close: not yellow on Monday"
        )
        still = await month_escalation(session, rep5)
        assert still is not None and still.level == 2
    await hold_pace(sessionmaker, settings, rep5, date(2026, 12, 11), Decimal("0.85"))
    await sweep(sessionmaker, settings, sh(14, 10, 30))  # Monday 10:30: 48 business hours since Thursday
    async with sessionmaker() as session:
        top = await month_escalation(session, rep5)
        assert top is not None and top.level == 3
        assert top.level_changed_at == sh(14, 10)  # Friday 10:00 + 24 business hours = Monday 10:00
        assert await month_escalation(session, rep1) is None

    # The holiday does not count either: rep3 falls behind on Tuesday.
    await hold_pace(sessionmaker, settings, rep3, date(2026, 12, 14), Decimal("0.85"))
    await sweep(sessionmaker, settings, sh(15, 10))
    await hold_pace(sessionmaker, settings, rep3, date(2026, 12, 15), Decimal("0.85"))
    await sweep(sessionmaker, settings, sh(16, 23))  # end of the holiday: 14 business hours
    async with sessionmaker() as session:
        held = await month_escalation(session, rep3)
        assert held is not None and held.level == 1
    await sweep(sessionmaker, settings, sh(17, 10, 30))
    async with sessionmaker() as session:
        climbed = await month_escalation(session, rep3)
        assert climbed is not None and climbed.level == 2 and climbed.level_changed_at == sh(17, 10)

    # A manager may not close an executive-level escalation; the executive may, and it is noted.
    clock.set(sh(14, 11))
    refused = await client.post(
        f"/api/v1/escalations/{top.id}/resolve",
        json={"note": "coached him"},
        headers=await bearer(client, "manager1"),
    )
    assert refused.status_code == 403, refused.text
    async with sessionmaker() as session:
        assert (await month_escalation(session, rep5)).state == "open"  # type: ignore[union-attr]

    # --- Reminders, digests and stand-ups over the fortnight ------------------------------------
    await add_tasks(sessionmaker, rep1, 11, [10, 11, 14])  # Friday: three visits, never updated
    await add_tasks(sessionmaker, rep5, 11, [10, 10])
    await add_tasks(sessionmaker, rep1, 15, [17])  # Tuesday, the day before the holiday
    moment = sh(7, 0)
    while moment <= sh(20, 23):
        local = moment.astimezone(SH)
        if local.hour == 0 and local.day not in (16, 17):
            # The day-closing sweep; around the holiday it runs late, after Thursday's digest.
            async with provide_services(sessionmaker, settings, MutableClock(moment)) as services:
                await services.get(TasksService).close_days()
        if local.hour == 7:
            await run_job("digest", sessionmaker, settings, moment + timedelta(minutes=30))
        if local.day == 17 and local.hour == 8:
            async with provide_services(sessionmaker, settings, MutableClock(moment)) as services:
                await services.get(TasksService).close_days()
        await run_job("remind-overdue", sessionmaker, settings, moment, force_slot=moment.isoformat())
        moment += timedelta(hours=1)

    async with sessionmaker() as session:
        reminders = (
            await session.scalars(
                select(Notification)
                .where(Notification.kind == "overdue_task")
                .order_by(Notification.created_at)
            )
        ).all()
        managers = dict((await session.execute(select(User.id, User.role))).tuples().all())
    assert reminders
    for note in reminders:
        local = note.created_at.astimezone(SH)
        assert local.weekday() < 5 and local.date() != HOLIDAY and 9 <= local.hour < 18, local
    to_reps = [n for n in reminders if managers[n.user_id] == "rep"]
    copies = [n for n in reminders if managers[n.user_id] == "manager"]
    # One grouped reminder per rep per window; one manager copy per rep per window.
    windows = Counter(n.dedup_key for n in to_reps)
    assert set(windows.values()) == {1}
    rep1_friday = [n for n in to_reps if n.user_id == rep1]
    assert [n.created_at for n in rep1_friday] == [sh(11, 10), sh(11, 13), sh(11, 17), sh(15, 17)]
    assert rep1_friday[2].title == "3 tasks overdue"
    assert [(n.user_id, n.created_at) for n in copies] == [(manager1, sh(11, 14)), (manager1, sh(11, 17))]
    assert copies[1].url == f"/team/reps/{rep1}/day?date=2026-12-11"
    assert "Visit 11/10" in copies[1].body and "Visit 11/11" in copies[1].body

    async with sessionmaker() as session:
        digests = {
            d.local_date: d.content
            for d in await session.scalars(select(Digest).where(Digest.manager_id == manager1))
        }
    # Working days only: no digest on the weekend or the holiday.
    assert sorted(digests) == [date(2026, 12, d) for d in (7, 8, 9, 10, 11, 14, 15, 17, 18)]
    monday = digests[date(2026, 12, 14)]
    assert monday["yesterday"] == "2026-12-11"
    missed = {row["name"]: len(row["tasks"]) for row in monday["missed"]}
    assert missed == {"Rep 1": 3, "Rep 5": 2}
    assert any(e["severity"] == "yellow" for e in monday["open_escalations"])
    thursday = digests[date(2026, 12, 17)]
    assert thursday["yesterday"] == "2026-12-15"
    # Tuesday's visit was still "planned" when the digest ran (closed later): listed all the same.
    assert {row["name"]: len(row["tasks"]) for row in thursday["missed"]} == {"Rep 1": 1}

    async with provide_services(sessionmaker, settings, MutableClock(sh(14, 9))) as services:
        principal = await principal_of(services.session, "manager1")
        access = await Scope.load(services.session, principal)
        board = await services.get(StandupService).board(
            access, demo.units["Shanghai Team 1"], date(2026, 12, 14)
        )
    assert board.yesterday == date(2026, 12, 11)
    cards = {card.rep.name: card for card in board.cards}
    assert len(cards["Rep 1"].missed_visits) == 3 and len(cards["Rep 5"].missed_visits) == 2

    # The executive, who holds level 3, may close it by hand (with a note).
    clock.set(sh(18, 11))
    accepted = await client.post(
        f"/api/v1/escalations/{top.id}/resolve",
        json={"note": "agreed a recovery plan"},
        headers=await bearer(client, "exec"),
    )
    assert accepted.status_code == 200 and accepted.json()["state"] == "resolved"
