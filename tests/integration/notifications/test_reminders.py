"""remind-overdue: first reminder to the rep, second with the manager copied, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import Notification, OrgSettings, Task
from server.jobs.registry import run_job
from tests.conftest import DEFAULT_NOW, Demo
from tests.fakepush import FakePushService, add_subscription, push_settings

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return push_settings(settings)


async def add_task(sessionmaker: Maker, rep_id: UUID, due_at: datetime, **fields: object) -> UUID:
    values = {"kind": "visit", "source": "manager", "title": "Visit Acme", "status": "planned"} | fields
    task = Task(rep_id=rep_id, local_date=due_at.date(), due_at=due_at, **values)
    async with sessionmaker() as session:
        session.add(task)
        await session.commit()
    return task.id


async def remind(sessionmaker: Maker, settings: Settings, at: datetime) -> dict[str, object]:
    result = await run_job("remind-overdue", sessionmaker, settings, at, force_slot=at.isoformat())
    assert result is not None
    return result


async def notes(sessionmaker: Maker) -> list[Notification]:
    async with sessionmaker() as session:
        stmt = select(Notification).order_by(Notification.created_at, Notification.dedup_key)
        return list((await session.scalars(stmt)).all())


async def task(sessionmaker: Maker, task_id: UUID) -> Task:
    async with sessionmaker() as session:
        found = await session.get(Task, task_id)
        assert found is not None
        return found


async def test_first_reminder_then_second_with_manager_copied_once_each(
    sessionmaker: Maker, settings: Settings, demo: Demo
) -> None:
    now = DEFAULT_NOW  # 10:00 in Shanghai, where rep1 and manager1 work
    task_id = await add_task(sessionmaker, demo.user("rep1"), now - timedelta(hours=1))

    first = await remind(sessionmaker, settings, now)
    assert first["first_reminders"] == 1 and first["managers_copied"] == 0
    [reminder] = await notes(sessionmaker)
    assert reminder.user_id == demo.user("rep1") and reminder.kind == "overdue_task"
    assert reminder.title == "Overdue: Visit Acme" and "09:00" in reminder.body  # local due time
    assert reminder.dedup_key == f"overdue:{demo.user('rep1')}:2026-11-18:0"  # per rep per window
    assert reminder.url == f"/#task-{task_id}"
    assert (await task(sessionmaker, task_id)).reminders_sent == 1

    await remind(sessionmaker, settings, now + timedelta(minutes=5))
    await remind(sessionmaker, settings, now + timedelta(hours=4) - timedelta(minutes=1))
    assert len(await notes(sessionmaker)) == 1, "nothing new before the 4 h window"

    second = await remind(sessionmaker, settings, now + timedelta(hours=4))
    assert second["second_reminders"] == 1 and second["managers_copied"] == 1
    rows = await notes(sessionmaker)
    rep_key = f"overdue:{demo.user('rep1')}:2026-11-18:1"
    assert [(n.user_id, n.dedup_key) for n in rows[1:]] == [
        (demo.user("rep1"), rep_key),
        (demo.user("manager1"), f"{rep_key}:manager"),
    ]
    # The manager's copy opens the rep's day, where the manager can act on the task.
    assert rows[2].url == f"/team/reps/{demo.user('rep1')}/day?date=2026-11-18"
    assert "has not updated" in rows[2].body and "Visit Acme" in rows[2].body
    assert (await task(sessionmaker, task_id)).reminders_sent == 2

    for hours in (5, 9, 30):
        await remind(sessionmaker, settings, now + timedelta(hours=hours))
    assert len(await notes(sessionmaker)) == 3, "no third reminder, ever"


async def test_one_run_reminds_every_rep_and_skips_tasks_touched_or_done(
    sessionmaker: Maker, settings: Settings, demo: Demo
) -> None:
    now = DEFAULT_NOW
    due = now - timedelta(hours=1)
    await add_task(sessionmaker, demo.user("rep1"), due)
    await add_task(sessionmaker, demo.user("rep2"), due)  # Los Angeles, 18:00 local: after work
    await add_task(sessionmaker, demo.user("rep3"), due, status_changed_at=due + timedelta(minutes=5))
    await add_task(sessionmaker, demo.user("rep4"), due, status="done")
    await add_task(sessionmaker, demo.user("rep5"), now + timedelta(hours=1))  # not due yet
    await add_task(sessionmaker, demo.user("rep7"), due, status_changed_at=due - timedelta(hours=2))

    result = await remind(sessionmaker, settings, now)

    reminded = {n.user_id for n in await notes(sessionmaker)}
    assert reminded == {demo.user("rep1"), demo.user("rep7")}
    assert result["first_reminders"] == 2 and result["outside_working_hours"] == 1


async def test_second_window_comes_from_org_settings(
    sessionmaker: Maker, settings: Settings, demo: Demo
) -> None:
    async with sessionmaker() as session:
        await session.execute(update(OrgSettings).values(reminder_second_window_h=2))
        await session.commit()
    now = DEFAULT_NOW
    await add_task(sessionmaker, demo.user("rep1"), now - timedelta(hours=1))
    await remind(sessionmaker, settings, now)
    second = await remind(sessionmaker, settings, now + timedelta(hours=2))
    assert second["second_reminders"] == 1


async def test_a_task_overdue_in_the_evening_waits_for_the_next_working_morning(
    sessionmaker: Maker, settings: Settings, demo: Demo
) -> None:
    ten_pm = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    nine_am = datetime(2026, 11, 19, 1, 0, tzinfo=UTC)
    task_id = await add_task(sessionmaker, demo.user("rep1"), ten_pm - timedelta(minutes=30))
    for at in (ten_pm, ten_pm + timedelta(hours=4), nine_am - timedelta(minutes=1)):
        result = await remind(sessionmaker, settings, at)
        assert result["queued"] == 0 and result["outside_working_hours"] == 1
    assert await notes(sessionmaker) == []
    assert (await remind(sessionmaker, settings, nine_am))["first_reminders"] == 1
    assert (await task(sessionmaker, task_id)).last_reminded_at == nine_am
    await remind(sessionmaker, settings, nine_am + timedelta(hours=4) - timedelta(minutes=1))
    assert len(await notes(sessionmaker)) == 1
    await remind(sessionmaker, settings, nine_am + timedelta(hours=4))
    assert len(await notes(sessionmaker)) == 3  # the rep again and the manager's copy


async def test_a_morning_reminder_is_pushed_at_once(
    sessionmaker: Maker, settings: Settings, demo: Demo
) -> None:
    nine_am = datetime(2026, 11, 19, 1, 0, tzinfo=UTC)
    async with FakePushService() as fake:
        sub = fake.subscription(201)
        await add_subscription(sessionmaker, demo.user("rep1"), sub, nine_am)
        await add_task(sessionmaker, demo.user("rep1"), nine_am - timedelta(minutes=30))
        await remind(sessionmaker, settings, nine_am)
        result = await run_job("dispatch-notifications", sessionmaker, settings, nine_am)
        assert result is not None and result["sent"] == 1
        [pushed] = fake.to(sub)
        assert fake.decrypt(pushed)["title"] == "Overdue: Visit Acme"
    [reminder] = await notes(sessionmaker)
    assert reminder.status == "sent" and reminder.sent_at == nine_am


async def test_several_overdue_tasks_make_one_grouped_reminder_and_one_manager_copy(
    sessionmaker: Maker, settings: Settings, demo: Demo
) -> None:
    now = DEFAULT_NOW  # Wednesday 10:00 in Shanghai
    rep1, manager1 = demo.user("rep1"), demo.user("manager1")
    for n in range(23):
        await add_task(sessionmaker, rep1, now - timedelta(minutes=30 + n), title=f"Visit {n:02d}")
    first = await remind(sessionmaker, settings, now)
    assert (first["first_reminders"], first["reps_reminded"], first["queued"]) == (23, 1, 1)
    [grouped] = await notes(sessionmaker)
    assert grouped.title == "23 tasks overdue" and "and 18 more" in grouped.body
    # A task falling due later in the same window waits for the next window's reminder.
    late = await add_task(sessionmaker, rep1, now + timedelta(minutes=30), title="Visit late")
    assert (await remind(sessionmaker, settings, now + timedelta(hours=1)))["queued"] == 0
    assert (await task(sessionmaker, late)).reminders_sent == 0
    second = await remind(sessionmaker, settings, now + timedelta(hours=4))  # 14:00, the next window
    assert (second["second_reminders"], second["first_reminders"], second["managers_copied"]) == (23, 1, 1)
    rows = await notes(sessionmaker)
    assert [n.user_id for n in rows] == [rep1, rep1, manager1]
    assert rows[2].title == "Rep One: 23 tasks still overdue" or rows[2].title.endswith(
        "23 tasks still overdue"
    )
