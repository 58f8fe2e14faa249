"""The in-app inbox: own notifications only, newest first, unread count, mark read, open."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.services import provide_services
from server.db.models import Notification
from server.services.notifications.outbox import NotificationsService
from tests.conftest import Demo, MutableClock, login_session

API = "/api/v1/notifications"
Maker = async_sessionmaker[AsyncSession]


async def seed(
    sessionmaker: Maker, settings: Settings, clock: MutableClock, demo: Demo, url: str | None = "/customers"
) -> dict[str, UUID]:
    """rep1 gets three notifications a minute apart; rep3 gets one."""
    ids: dict[str, UUID] = {}
    for key, user in (("a", "rep1"), ("b", "rep1"), ("c", "rep1"), ("theirs", "rep3")):
        async with provide_services(sessionmaker, settings, clock) as services:
            await services.get(NotificationsService).notify(
                demo.user(user), "digest", f"T-{key}", "body", key, url=url
            )
        clock.advance(minutes=1)
    async with sessionmaker() as session:
        for n in await session.scalars(select(Notification)):
            ids[n.dedup_key] = n.id
    return ids


async def read_at(sessionmaker: Maker, notification_id: UUID) -> object:
    async with sessionmaker() as session:
        return await session.scalar(select(Notification.read_at).where(Notification.id == notification_id))


async def test_list_is_own_only_newest_first_with_unread_count_and_pages(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    sessionmaker: Maker,
    settings: Settings,
    clock: MutableClock,
) -> None:
    ids = await seed(sessionmaker, settings, clock, demo)
    body = (await client.get(API, headers=await auth("rep1"))).json()
    assert [n["title"] for n in body["items"]] == ["T-c", "T-b", "T-a"]
    assert body["unread_count"] == 3 and body["next_before"] is None
    assert body["items"][0]["delivery"] == "pending" and body["items"][0]["read_at"] is None

    page1 = (await client.get(API, params={"limit": 2}, headers=await auth("rep1"))).json()
    assert [n["title"] for n in page1["items"]] == ["T-c", "T-b"] and page1["next_before"] == str(ids["b"])
    page2 = await client.get(
        API, params={"limit": 2, "before": page1["next_before"]}, headers=await auth("rep1")
    )
    assert [n["title"] for n in page2.json()["items"]] == ["T-a"]

    theirs = (await client.get(API, params={"before": str(ids["theirs"])}, headers=await auth("rep1"))).json()
    assert theirs["items"] == [], "another user's id is no cursor"
    assert (await client.get(API, params={"limit": 0}, headers=await auth("rep1"))).status_code == 400


async def test_mark_read_one_and_all_and_only_own(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    sessionmaker: Maker,
    settings: Settings,
    clock: MutableClock,
) -> None:
    ids = await seed(sessionmaker, settings, clock, demo)
    rep1 = await auth("rep1")

    others = await client.post(f"{API}/{ids['theirs']}/read", headers=rep1)
    assert others.status_code == 404
    assert await read_at(sessionmaker, ids["theirs"]) is None
    assert (await client.post(f"{API}/{uuid4()}/read", headers=rep1)).status_code == 404
    assert (await client.post(f"{API}/not-a-uuid/read", headers=rep1)).status_code in (400, 404)

    one = await client.post(f"{API}/{ids['b']}/read", headers=rep1)
    assert one.status_code == 200
    assert datetime.fromisoformat(one.json()["read_at"]) == clock.now()
    unread = (await client.get(API, params={"unread": "true"}, headers=rep1)).json()
    assert [n["title"] for n in unread["items"]] == ["T-c", "T-a"] and unread["unread_count"] == 2

    everything = await client.post(f"{API}/read-all", headers=rep1)
    assert everything.json() == {"marked": 2}
    assert (await client.get(API, headers=rep1)).json()["unread_count"] == 0
    assert await read_at(sessionmaker, ids["theirs"]) is None, "read-all is the caller's only"


async def test_inbox_page_badge_and_opening_a_notification(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: Maker, settings: Settings, clock: MutableClock
) -> None:
    ids = await seed(sessionmaker, settings, clock, demo)
    csrf = await login_session(client, "rep1")

    page = await client.get("/inbox")
    assert page.status_code == 200
    assert page.text.index("T-c") < page.text.index("T-b") < page.text.index("T-a")
    assert "T-theirs" not in page.text and "3 unread" in page.text
    assert re.search(r">\s*3\s*<", (await client.get("/inbox/badge")).text)

    opened = await client.post(f"/inbox/{ids['a']}/open", data={"_csrf_token": csrf}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/customers"
    assert await read_at(sessionmaker, ids["a"]) is not None

    swapped = await client.post(
        f"/inbox/{ids['b']}/read", headers={"HX-Request": "true", "X-CSRF-Token": csrf}
    )
    assert swapped.status_code == 200 and json.loads(swapped.headers["hx-trigger"]) == {"inbox-changed": {}}
    assert "T-b" in swapped.text and "Mark read" not in swapped.text and "<html" not in swapped.text

    others = await client.post(
        f"/inbox/{ids['theirs']}/open", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert others.status_code == 404

    done = await client.post("/inbox/read-all", data={"_csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/inbox"
    assert (await client.get("/inbox/badge")).text.strip() == "", "no badge when all is read"


async def test_stored_url_never_becomes_an_open_redirect(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: Maker, settings: Settings, clock: MutableClock
) -> None:
    ids = await seed(sessionmaker, settings, clock, demo, url="//evil.example/phish")
    csrf = await login_session(client, "rep1")
    opened = await client.post(f"/inbox/{ids['a']}/open", data={"_csrf_token": csrf}, follow_redirects=False)
    assert opened.headers["location"] == "/inbox"


async def test_inbox_needs_sign_in(client: AsyncTestClient[Any]) -> None:
    assert (await client.get(API)).status_code == 401
    page = await client.get("/inbox", follow_redirects=False)
    assert page.status_code in (302, 303, 307) and page.headers["location"].startswith("/login")
