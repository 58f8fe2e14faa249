"""Push subscription API: VAPID key, validated upsert by endpoint, delete own only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import PushSubscription
from server.services.notifications import endpoints
from tests.conftest import Demo
from tests.fakepush import VAPID_PUBLIC_KEY, FakePushService, FakeSubscription, b64url, push_settings

URL = "/api/v1/push/subscriptions"
Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return push_settings(settings)


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The resolver seam: no test asks real DNS."""
    answers = {"fcm.googleapis.com": ["142.250.185.10"], "updates.push.services.mozilla.com": ["34.117.1.1"]}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"no such host {host}")
        return answers[host]

    monkeypatch.setattr(endpoints, "resolver", resolve)
    return answers


@pytest.fixture
async def fake() -> AsyncIterator[FakePushService]:
    async with FakePushService() as service:
        yield service


async def stored(sessionmaker: Maker) -> list[PushSubscription]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(PushSubscription))).all())


async def test_vapid_public_key_is_public(client: AsyncTestClient[Any], settings: Settings) -> None:
    response = await client.get("/api/v1/push/vapid-public-key")
    assert response.status_code == 200
    assert response.json() == {"public_key": VAPID_PUBLIC_KEY}


async def test_vapid_public_key_missing_is_503(
    client: AsyncTestClient[Any], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "vapid_public_key", "")
    response = await client.get("/api/v1/push/vapid-public-key")
    assert response.status_code == 503
    assert "fieldsales vapid" in response.json()["detail"]


async def test_subscribe_saves_resubscribe_renews_and_another_user_is_refused(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: Maker, fake: FakePushService
) -> None:
    sub = fake.subscription()
    first = await client.post(URL, json=sub.json(), headers={**await auth("rep1"), "User-Agent": "Phone A"})
    assert first.status_code == 200, first.text
    assert first.json() == {"endpoint": sub.endpoint, "active": True}
    [row] = await stored(sessionmaker)
    assert (row.user_id, row.p256dh, row.auth, row.user_agent) == (
        demo.user("rep1"),
        sub.p256dh,
        sub.auth,
        "Phone A",
    )

    async with sessionmaker() as session:  # the push service had said 410 earlier
        gone = await session.get(PushSubscription, row.id)
        assert gone is not None
        gone.disabled_at, gone.failures = row.created_at, 3
        await session.commit()
    whole = {**sub.json(), "expirationTime": None}  # the browser's toJSON() shape, posted whole
    again = await client.post(URL, json=whole, headers=await auth("rep1"))
    assert again.status_code == 200
    [renewed] = await stored(sessionmaker)
    assert renewed.id == row.id and renewed.user_id == demo.user("rep1")
    assert renewed.disabled_at is None and renewed.failures == 0

    # Someone else posting the same endpoint does not take the device's notifications over.
    taken = await client.post(URL, json=whole, headers=await auth("rep3"))
    assert taken.status_code == 409, taken.text
    assert taken.json()["errors"][0]["field"] == "endpoint"
    [kept] = await stored(sessionmaker)
    assert kept.user_id == demo.user("rep1")


def _with(sub: FakeSubscription, **changes: Any) -> dict[str, Any]:
    body = sub.json()
    keys = {k: changes.pop(k) for k in ("p256dh", "auth") if k in changes}
    body["keys"].update(keys)
    return {**body, **changes}


INVALID = [
    ({"endpoint": "http://push.example.com/x"}, ["endpoint"]),
    ({"endpoint": "not a url"}, ["endpoint"]),
    ({"endpoint": "https://10.1.2.3/push/x"}, ["endpoint"]),
    ({"endpoint": "https://user:pw@push.example.com/x"}, ["endpoint"]),
    ({"p256dh": b64url(b"\x04" + b"\x01" * 63)}, ["keys.p256dh"]),  # 64 bytes
    ({"p256dh": b64url(b"\x05" + b"\x01" * 64)}, ["keys.p256dh"]),  # not uncompressed
    ({"p256dh": b64url(b"\x04" + b"\x01" * 64)}, ["keys.p256dh"]),  # not on the curve
    ({"p256dh": "not+base64url/"}, ["keys.p256dh"]),
    ({"auth": b64url(b"x" * 15)}, ["keys.auth"]),
    ({"auth": b64url(b"x" * 16) + "!"}, ["keys.auth"]),
    ({"endpoint": "ftp://x/y", "p256dh": "AAAA", "auth": "AAAA"}, ["endpoint", "keys.p256dh", "keys.auth"]),
]


@pytest.mark.parametrize(("changes", "fields"), INVALID)
async def test_invalid_subscription_is_422_naming_each_field(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    sessionmaker: Maker,
    fake: FakePushService,
    changes: dict[str, Any],
    fields: list[str],
) -> None:
    response = await client.post(URL, json=_with(fake.subscription(), **changes), headers=await auth("rep1"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == fields
    assert await stored(sessionmaker) == []


async def test_malformed_body_is_400_naming_the_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, fake: FakePushService
) -> None:
    response = await client.post(
        URL, json={"endpoint": fake.subscription().endpoint}, headers=await auth("rep1")
    )
    assert response.status_code == 400
    assert "keys" in response.json()["detail"]


async def test_local_endpoints_need_the_test_only_setting(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, settings: Settings, fake: FakePushService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(settings, "push_allow_insecure_localhost", False)
    response = await client.post(URL, json=fake.subscription().json(), headers=await auth("rep1"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "endpoint"
    public = _with(fake.subscription(), endpoint="https://fcm.googleapis.com/fcm/send/abc:def")
    assert (await client.post(URL, json=public, headers=await auth("rep1"))).status_code == 200


async def test_subscribing_requires_sign_in(client: AsyncTestClient[Any], fake: FakePushService) -> None:
    assert (await client.post(URL, json=fake.subscription().json())).status_code == 401


async def test_delete_removes_only_the_callers_own_subscription(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, sessionmaker: Maker, fake: FakePushService
) -> None:
    sub = fake.subscription()
    await client.post(URL, json=sub.json(), headers=await auth("rep1"))
    other = await client.request("DELETE", URL, json={"endpoint": sub.endpoint}, headers=await auth("rep3"))
    assert other.status_code == 404
    assert len(await stored(sessionmaker)) == 1
    own = await client.request("DELETE", URL, json={"endpoint": sub.endpoint}, headers=await auth("rep1"))
    assert own.status_code == 204
    assert await stored(sessionmaker) == []
