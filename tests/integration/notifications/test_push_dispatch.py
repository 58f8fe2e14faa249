"""The outbox dispatcher against a local fake push service, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.core import metrics
from server.core.services import provide_services
from server.db.models import Notification, PushSubscription, User
from server.services.notifications.outbox import NotificationsService
from server.services.notifications.push import Dispatcher
from server.services.notifications.push_message import topic_for
from tests.conftest import Demo, MutableClock
from tests.fakepush import VAPID_PUBLIC_KEY, FakePushService, add_subscription, push_settings

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return push_settings(settings)


@pytest.fixture
async def fake() -> AsyncIterator[FakePushService]:
    async with FakePushService() as service:
        yield service


async def queue(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, user_id: UUID, key: str, **kw: object
) -> None:
    kind = str(kw.pop("kind", "overdue_task"))
    async with provide_services(sessionmaker, settings, clock) as services:
        await services.get(NotificationsService).notify(
            user_id, kind, f"Title {key}", f"Body {key}", key, url="/", **kw
        )


async def row(sessionmaker: Maker, key: str) -> Notification:
    async with sessionmaker() as session:
        found = await session.scalar(select(Notification).where(Notification.dedup_key == key))
        assert found is not None
        return found


def failures(reason: str) -> float:
    return metrics.PUSH_FAILURES.labels(reason=reason)._value.get()


async def test_accepted_push_is_sent_encrypted_with_policy_headers_and_a_valid_vapid_jwt(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    sub = fake.subscription(201)
    sub_id = await add_subscription(sessionmaker, demo.user("rep1"), sub, clock.now())
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "k1", tag="overdue-task-1")

    stats = await Dispatcher(sessionmaker, settings, clock).run()

    assert (stats.claimed, stats.sent) == (1, 1)
    [request] = fake.to(sub)
    notification = await row(sessionmaker, "k1")
    assert fake.decrypt(request) == {
        "id": str(notification.id),
        "title": "Title k1",
        "body": "Body k1",
        "url": "/",
        "tag": "overdue-task-1",
    }
    assert request.headers["ttl"] == str(4 * 3600)  # overdue_task policy
    assert request.headers["urgency"] == "high"
    assert request.headers["topic"] == topic_for("overdue-task-1")
    assert request.headers["content-encoding"] == "aes128gcm"
    claims = fake.vapid(request, VAPID_PUBLIC_KEY)
    assert claims["aud"] == fake.base_url and claims["sub"] == settings.vapid_subject
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert notification.status == "sent" and notification.sent_at == clock.now()
    assert notification.attempts == 1
    async with sessionmaker() as session:
        subscription = await session.get(PushSubscription, sub_id)
        assert subscription is not None and subscription.last_success_at == clock.now()


async def test_low_priority_kind_gets_its_own_ttl_and_urgency(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    sub = fake.subscription(201)
    await add_subscription(sessionmaker, demo.user("rep1"), sub, clock.now())
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "g1", kind="grade_change")
    await Dispatcher(sessionmaker, settings, clock).run()
    [request] = fake.to(sub)
    assert request.headers["ttl"] == str(3 * 86400) and request.headers["urgency"] == "low"
    assert request.headers["topic"] == "grade_change"  # the tag defaults to the kind


async def test_server_errors_retry_at_1m_5m_30m_2h_then_dead(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    sub = fake.subscription(500)
    await add_subscription(sessionmaker, demo.user("rep1"), sub, clock.now())
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "r1")
    dispatcher = Dispatcher(sessionmaker, settings, clock)
    before = failures("server")
    expected_waits = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
    for attempt, wait in enumerate(expected_waits, start=1):
        await dispatcher.run()
        notification = await row(sessionmaker, "r1")
        assert notification.status == "pending" and notification.attempts == attempt
        assert notification.next_attempt_at == clock.now() + wait
        assert notification.last_error == "HTTP 500"
        clock.advance(seconds=wait.total_seconds() - 1)
        await dispatcher.run()  # a second early: not due yet
        assert len(fake.to(sub)) == attempt
        clock.advance(seconds=1)
    await dispatcher.run()
    notification = await row(sessionmaker, "r1")
    assert notification.status == "dead" and notification.attempts == 5
    assert len(fake.to(sub)) == 5
    assert failures("server") - before == 5
    clock.advance(hours=5)
    await dispatcher.run()
    assert len(fake.to(sub)) == 5, "a dead notification is never tried again"


@pytest.mark.parametrize("status", [404, 410])
async def test_gone_subscription_is_disabled_and_not_used_again(
    sessionmaker: Maker,
    settings: Settings,
    clock: MutableClock,
    demo: Demo,
    fake: FakePushService,
    status: int,
) -> None:
    gone, alive = fake.subscription(status), fake.subscription(201)
    gone_id = await add_subscription(sessionmaker, demo.user("rep1"), gone, clock.now())
    await add_subscription(sessionmaker, demo.user("rep1"), alive, clock.now())
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "a")
    await Dispatcher(sessionmaker, settings, clock).run()
    async with sessionmaker() as session:
        disabled = await session.get(PushSubscription, gone_id)
        assert disabled is not None and disabled.disabled_at == clock.now()
    assert (await row(sessionmaker, "a")).status == "sent"  # the other device got it

    await queue(sessionmaker, settings, clock, demo.user("rep1"), "b")
    await Dispatcher(sessionmaker, settings, clock).run()
    assert len(fake.to(gone)) == 1 and len(fake.to(alive)) == 2


async def test_only_gone_subscriptions_leave_the_notification_skipped(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    await add_subscription(sessionmaker, demo.user("rep1"), fake.subscription(410), clock.now())
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "x")
    await Dispatcher(sessionmaker, settings, clock).run()
    notification = await row(sessionmaker, "x")
    assert notification.status == "skipped" and "gone" in (notification.last_error or "")


async def test_slow_push_service_times_out_and_counts_as_a_failure(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    sub = fake.subscription("slow")
    await add_subscription(sessionmaker, demo.user("rep1"), sub, clock.now())
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "s1")
    before = failures("timeout")
    impatient = settings.model_copy(update={"push_timeout_s": 0.5})
    started = time.perf_counter()
    async with asyncio.timeout(60):  # without a request timeout this would hang: fail instead
        await Dispatcher(sessionmaker, impatient, clock).run()
    elapsed = time.perf_counter() - started
    assert len(fake.to(sub)) == 1, "the request reached the service"
    assert elapsed < 8, (
        "the 0.5 s setting bounded the wait, not some 10 s default (the service never answers)"
    )
    notification = await row(sessionmaker, "s1")
    assert notification.status == "pending" and notification.last_error == "timeout"
    assert notification.next_attempt_at == clock.now() + timedelta(minutes=1)
    assert failures("timeout") - before == 1


async def test_each_origin_gets_its_own_audience_claim(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    async with FakePushService() as other:
        first, second = fake.subscription(201), other.subscription(201)
        await add_subscription(sessionmaker, demo.user("rep1"), first, clock.now())
        await add_subscription(sessionmaker, demo.user("rep1"), second, clock.now())
        await queue(sessionmaker, settings, clock, demo.user("rep1"), "o1")
        await Dispatcher(sessionmaker, settings, clock).run()
        assert fake.base_url != other.base_url
        assert fake.vapid(fake.to(first)[0], VAPID_PUBLIC_KEY)["aud"] == fake.base_url
        assert other.vapid(other.to(second)[0], VAPID_PUBLIC_KEY)["aud"] == other.base_url


async def test_two_dispatchers_at_once_deliver_each_notification_once(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    users = [demo.user(name) for name in ("rep1", "rep3", "rep5")]
    subs = {user: fake.subscription(201) for user in users}
    for user, sub in subs.items():
        await add_subscription(sessionmaker, user, sub, clock.now())
    async with provide_services(sessionmaker, settings, clock) as services:
        for n in range(60):
            user = users[n % 3]
            await services.get(NotificationsService).notify(user, "digest", f"t{n}", "b", f"c{n}")

    # Small batches so the two interleave many claims.
    first, second = (Dispatcher(sessionmaker, settings, clock, batch_size=7) for _ in range(2))
    a, b = await asyncio.gather(first.run(), second.run())

    assert a.claimed > 0 and b.claimed > 0, "both dispatchers did part of the work"
    assert a.claimed + b.claimed == 60
    delivered = [fake.decrypt(r)["id"] for r in fake.received]
    assert len(delivered) == len(set(delivered)) == 60
    async with sessionmaker() as session:
        statuses = (await session.scalars(select(Notification.status))).all()
    assert set(statuses) == {"sent"}


async def test_no_subscription_means_skipped_but_still_in_the_inbox(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    await queue(sessionmaker, settings, clock, demo.user("rep2"), "n1")
    stats = await Dispatcher(sessionmaker, settings, clock).run()
    assert stats.skipped == 1 and fake.received == []
    assert (await row(sessionmaker, "n1")).status == "skipped"
    async with provide_services(sessionmaker, settings, clock) as services:
        inbox = await services.get(NotificationsService).inbox(demo.user("rep2"))
    assert [n.dedup_key for n in inbox] == ["n1"]


async def test_repeats_collapse_by_dedup_key_into_one_push(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    sub = fake.subscription(201)
    await add_subscription(sessionmaker, demo.user("rep1"), sub, clock.now())
    for _ in range(3):
        await queue(sessionmaker, settings, clock, demo.user("rep1"), "same-key")
        clock.advance(minutes=1)
        await Dispatcher(sessionmaker, settings, clock).run()
    assert len(fake.to(sub)) == 1


async def test_read_in_the_app_before_delivery_is_not_pushed(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    sub = fake.subscription(201)
    await add_subscription(sessionmaker, demo.user("rep1"), sub, clock.now())
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "seen")
    async with provide_services(sessionmaker, settings, clock) as services:
        assert await services.get(NotificationsService).mark_all_read(demo.user("rep1")) == 1
    await Dispatcher(sessionmaker, settings, clock).run()
    assert fake.to(sub) == []
    assert (await row(sessionmaker, "seen")).status == "skipped"


async def test_without_vapid_keys_nothing_is_claimed_and_the_backlog_is_exported(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    unconfigured = settings.model_copy(update={"vapid_private_key": "", "vapid_public_key": ""})
    await add_subscription(sessionmaker, demo.user("rep1"), fake.subscription(201), clock.now())
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "wait")
    stats = await Dispatcher(sessionmaker, unconfigured, clock).run()
    assert not stats.vapid_configured and stats.backlog == 1
    assert metrics.OUTBOX_BACKLOG._value.get() == 1
    assert (await row(sessionmaker, "wait")).status == "pending" and fake.received == []
    await Dispatcher(sessionmaker, settings, clock).run()
    assert metrics.OUTBOX_BACKLOG._value.get() == 0


async def test_expired_before_delivery_is_dead_not_pushed(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    sub = fake.subscription(201)
    await add_subscription(sessionmaker, demo.user("rep1"), sub, clock.now())
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "stale")  # overdue_task: TTL 4 h
    clock.advance(hours=4)
    await Dispatcher(sessionmaker, settings, clock).run()
    assert fake.to(sub) == []
    notification = await row(sessionmaker, "stale")
    assert notification.status == "dead" and notification.last_error == "expired before delivery"


async def test_notifications_off_means_nothing_pushed_but_the_inbox_keeps_it(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, fake: FakePushService
) -> None:
    sub = fake.subscription(201)
    await add_subscription(sessionmaker, demo.user("rep1"), sub, clock.now())
    async with sessionmaker() as session, session.begin():
        user = await session.get(User, demo.user("rep1"))
        assert user is not None
        user.notifications_enabled = False
    await queue(sessionmaker, settings, clock, demo.user("rep1"), "off1")
    stats = await Dispatcher(sessionmaker, settings, clock).run()
    assert stats.skipped == 1 and fake.to(sub) == []
    async with provide_services(sessionmaker, settings, clock) as services:
        inbox = await services.get(NotificationsService).inbox(demo.user("rep1"))
    assert [n.dedup_key for n in inbox] == ["off1"]
