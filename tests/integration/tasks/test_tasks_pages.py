"""The rep's Today page and the manager's view of a rep's day."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Customer, DailyPlan, Task
from tests.conftest import Demo, MutableClock, login_session


class Forms(HTMLParser):
    """Collects each form's attributes and the names (and fixed values) of its fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"attrs": attributes, "fields": {}})
        elif tag in ("input", "select", "textarea") and self.forms and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value")


def forms_of(html: str) -> list[dict[str, Any]]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


async def test_today_page_lists_the_plan_with_actions(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await login_session(client, "rep1")
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "no-store" not in page.headers.get("cache-control", "")  # the service worker may keep it
    html = page.text
    assert html.count("data-task-card") == 8
    assert "0 of 8 done" in html
    assert html.count("https://www.google.com/maps/dir/?api=1&amp;destination=") == 8
    check_ins = re.findall(r'href="/checkins/new\?task_id=([0-9a-f-]+)&amp;customer_id=([0-9a-f-]+)"', html)
    assert len(check_ins) == 8
    assert re.search(r'<li class="chip">[^<]*(since last visit|never visited|later than usual)', html)
    outbox_forms = [
        f for f in forms_of(html) if f["attrs"].get("data-outbox", "").startswith("/api/v1/tasks/")
    ]
    assert len(outbox_forms) == 8 * 4 and all(
        f["attrs"]["data-outbox-method"] == "PATCH" for f in outbox_forms
    )
    async with sessionmaker() as session:  # planned on the spot: past 06:00 and no plan yet
        plans = await session.scalar(
            select(func.count()).select_from(DailyPlan).where(DailyPlan.rep_id == demo.user("rep1"))
        )
    assert plans == 1


async def test_card_form_and_its_offline_replay_share_one_contract(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    csrf = await login_session(client, "rep1")
    forms = [f for f in forms_of((await client.get("/")).text) if "data-outbox" in f["attrs"]]
    skip = next(f for f in forms if f["fields"].get("status") == "skipped")
    url = skip["attrs"]["hx-post"]

    invalid = await client.post(
        url, data={"_csrf_token": csrf, "status": "skipped"}, headers={"HX-Request": "true"}
    )
    assert invalid.status_code == 422 and "is required to skip a task" in invalid.text

    swapped = await client.post(
        url,
        data={"_csrf_token": csrf, "status": "skipped", "reason": "no_time"},
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200
    assert "Skipped" in swapped.text and "No time" in swapped.text
    assert 'id="day-counts"' in swapped.text and 'hx-swap-oob="true"' in swapped.text
    assert "1 skipped" in swapped.text

    # What app.js queues offline: the same form's fields as JSON, to data-outbox with its method.
    snooze = next(f for f in forms if f["fields"].get("status") == "snoozed" and f["attrs"]["hx-post"] != url)
    body = {name: value for name, value in snooze["fields"].items() if name != "_csrf_token"}
    body["snooze_until"] = "2026-11-19"
    replay = await client.request(
        snooze["attrs"]["data-outbox-method"],
        snooze["attrs"]["data-outbox"],
        json=body,
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert replay.status_code == 200, replay.text
    assert replay.json()["status_reason"] == "rescheduled"


async def test_plain_form_post_redirects_back_to_today(client: AsyncTestClient[Any], demo: Demo) -> None:
    csrf = await login_session(client, "rep1")
    done = next(f for f in forms_of((await client.get("/")).text) if f["fields"].get("status") == "done")
    response = await client.post(
        done["attrs"]["action"], data={"_csrf_token": csrf, "status": "done"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "1 of 8 done" in (await client.get("/")).text


async def test_before_six_the_page_explains_when_the_list_arrives(
    client: AsyncTestClient[Any],
    demo: Demo,
    clock: MutableClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock.set(datetime(2026, 11, 17, 21, 30, tzinfo=UTC))  # 05:30 in Shanghai
    await login_session(client, "rep1")
    page = await client.get("/")
    assert page.status_code == 200 and "your list arrives at 06:00" in page.text
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(DailyPlan)) == 0


async def test_manager_views_a_reps_day_and_pins_a_customer(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        customer_id, name = (
            await session.execute(
                select(Customer.id, Customer.name).where(
                    Customer.owner_rep_id == rep1, Customer.status == "active"
                )
            )
        ).first()  # type: ignore[misc]
    csrf = await login_session(client, "manager1")
    page = await client.get(f"/team/reps/{rep1}/day")
    assert page.status_code == 200 and "Rep 1" in page.text
    added = await client.post(
        f"/team/reps/{rep1}/tasks",
        data={
            "_csrf_token": csrf,
            "customer_id": str(customer_id),
            "kind": "visit",
            "local_date": "2026-11-18",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    day = await client.get(added.headers["location"])
    assert "Pinned by your manager" in day.text and name in day.text
    bad = await client.post(
        f"/team/reps/{rep1}/tasks", data={"_csrf_token": csrf, "kind": "custom", "title": ""}
    )
    assert bad.status_code == 422 and "is required for a task without a customer" in bad.text


async def test_rep_day_page_is_scoped(client: AsyncTestClient[Any], demo: Demo) -> None:
    rep1 = demo.user("rep1")
    await login_session(client, "manager2")
    assert (await client.get(f"/team/reps/{rep1}/day")).status_code == 404
    client.cookies.clear()  # sign in afresh as someone else
    await login_session(client, "rep1")
    assert (await client.get(f"/team/reps/{rep1}/day")).status_code == 403


async def test_a_refused_snooze_by_form_keeps_nothing_of_the_request(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The form answers with a redirect (committed by the plugin); the service refuses the snooze
    target before it changes anything, so the note sent with it is not kept either."""
    csrf = await login_session(client, "rep1")
    forms = [f for f in forms_of((await client.get("/")).text) if "data-outbox" in f["attrs"]]
    snooze = next(f for f in forms if f["fields"].get("status") == "snoozed")
    task_id = snooze["attrs"]["hx-post"].split("/")[2]
    refused = await client.post(
        snooze["attrs"]["hx-post"],
        data={"_csrf_token": csrf, "status": "snoozed", "snooze_until": "2026-11-01", "note": "call back"},
        follow_redirects=False,
    )
    assert refused.status_code == 303
    async with sessionmaker() as session:
        task = await session.get(Task, UUID(task_id))
        assert task is not None and task.status == "planned" and task.status_note is None
