"""The outbox: written with its cause, deferred by quiet hours, collapsed by dedup key, and the
dispatcher woken by the commit that added it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from litestar.datastructures import State
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.services import provide_services
from server.db.models import Notification, Task
from server.jobs.dispatch_notifications import dispatch_on_commit
from server.services.notifications.outbox import OUTBOX_SIGNAL, Draft, NotificationsService
from tests.conftest import Demo, MutableClock
from tests.fakepush import FakePushService, add_subscription, push_settings

Maker = async_sessionmaker[AsyncSession]


async def count(sessionmaker: Maker, model: type) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def overdue_task(rep_id: object, due_at: datetime) -> Task:
    return Task(rep_id=rep_id, local_date=due_at.date(), kind="visit", source="manager", due_at=due_at)


class Boom(Exception):
    pass


async def test_rollback_of_the_cause_leaves_no_notification(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo
) -> None:
    with pytest.raises(Boom):
        async with provide_services(sessionmaker, settings, clock) as services:
            services.session.add(overdue_task(demo.user("rep1"), clock.now()))
            assert await services.get(NotificationsService).notify(
                demo.user("rep1"), "escalation", "t", "b", "k"
            )
            raise Boom
    assert await count(sessionmaker, Task) == 0
    assert await count(sessionmaker, Notification) == 0

    async with provide_services(sessionmaker, settings, clock) as services:
        services.session.add(overdue_task(demo.user("rep1"), clock.now()))
        await services.get(NotificationsService).notify(demo.user("rep1"), "escalation", "t", "b", "k")
    assert await count(sessionmaker, Task) == 1
    assert await count(sessionmaker, Notification) == 1


async def test_quiet_hours_defer_delivery_to_0700_local(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo
) -> None:
    clock.set(datetime(2026, 11, 18, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai (rep1)
    async with provide_services(sessionmaker, settings, clock) as services:
        notifications = services.get(NotificationsService)
        await notifications.notify(demo.user("rep1"), "overdue_task", "t", "b", "night")
        await notifications.notify(demo.user("rep2"), "overdue_task", "t", "b", "la-morning")  # 06:00 LA
        await notifications.notify(
            demo.user("rep1"), "escalation", "t", "b", "urgent", respect_quiet_hours=False
        )
    async with sessionmaker() as session:
        rows = {n.dedup_key: n for n in await session.scalars(select(Notification))}
    seven_shanghai = datetime(2026, 11, 18, 23, 0, tzinfo=UTC)
    assert rows["night"].deliver_after == rows["night"].next_attempt_at == seven_shanghai
    assert rows["la-morning"].deliver_after == datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # 07:00 LA
    assert rows["urgent"].deliver_after == clock.now()


async def test_repeats_collapse_on_dedup_key_within_and_across_calls(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    async with provide_services(sessionmaker, settings, clock) as services:
        notifications = services.get(NotificationsService)
        assert await notifications.notify(rep1, "digest", "first", "b", "same")
        queued = await notifications.notify_many(
            [
                Draft(rep1, "digest", "again", "b", "same"),
                Draft(rep1, "digest", "new", "b", "other"),
                Draft(rep1, "digest", "dup in batch", "b", "other"),
            ]
        )
    assert [q.created for q in queued] == [False, True, False]
    async with sessionmaker() as session:
        titles = sorted((await session.scalars(select(Notification.title))).all())
    assert titles == ["first", "new"]


@pytest.fixture
async def signal() -> AsyncIterator[asyncio.Event]:
    event = OUTBOX_SIGNAL.attach()
    yield event
    OUTBOX_SIGNAL.detach()


async def test_commit_that_added_notifications_wakes_the_dispatcher(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, signal: asyncio.Event
) -> None:
    with pytest.raises(Boom):
        async with provide_services(sessionmaker, settings, clock) as services:
            await services.get(NotificationsService).notify(
                demo.user("rep1"), "digest", "t", "b", "rolled-back"
            )
            raise Boom
    async with provide_services(sessionmaker, settings, clock) as services:
        await services.get(NotificationsService).notify(demo.user("rep1"), "digest", "t", "b", "k")
        await asyncio.sleep(0)
        assert not signal.is_set(), "not before the commit"
    await asyncio.sleep(0)
    assert signal.is_set()

    signal.clear()
    async with provide_services(sessionmaker, settings, clock) as services:
        assert not await services.get(NotificationsService).notify(demo.user("rep1"), "digest", "t", "b", "k")
    await asyncio.sleep(0)
    assert not signal.is_set(), "a collapsed repeat adds nothing to deliver"


async def test_app_lifespan_delivers_right_after_a_commit(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo
) -> None:
    live = push_settings(settings, scheduler_enabled=True)
    app = SimpleNamespace(state=State({"settings": live, "sessionmaker": sessionmaker, "clock": clock}))
    async with FakePushService() as fake, dispatch_on_commit(app):  # type: ignore[arg-type]
        sub = fake.subscription(201)
        await add_subscription(sessionmaker, demo.user("rep1"), sub, clock.now())
        async with provide_services(sessionmaker, live, clock) as services:
            await services.get(NotificationsService).notify(demo.user("rep1"), "digest", "Now", "b", "now")
        # Waits for the delivery itself (no scheduler sweep runs here), not for a clock.
        await asyncio.wait_for(fake.arrived.wait(), timeout=10)
    assert fake.decrypt(fake.to(sub)[0])["title"] == "Now"
    # The lifespan ended while the run was still waiting on the push service's answer: shutdown
    # let it finish (cancelled mid-statement, SQLite's connection close could hang the loop), so
    # the delivery is on record, not left claimed for a retry that would push it twice.
    async with sessionmaker() as session:
        sent = await session.scalar(select(Notification.status).where(Notification.title == "Now"))
    assert sent == "sent"
