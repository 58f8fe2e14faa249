"""One open visit per rep (issue 17): a later arrival closes the earlier visit, in whatever order
the phones replay them, no visit is lost, the closed visit can still be checked out, Today shows
what is in progress and what was left open, and no reminder fires where the rep is checked in."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape as html_unescape
from typing import Any
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.db.models import Checkin, Customer, Notification, Task
from server.jobs.registry import run_job
from tests.conftest import Demo, MutableClock, login_session
from tests.integration.checkins.test_checkins_support import (
    API,
    add_task,
    checkin_body,
    count_rows,
    customers_of,
)


async def test_a_later_arrival_closes_the_open_visit_which_can_still_be_checked_out(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    first_place, second_place = await customers_of(engine, demo.user("rep1"), 2)
    task_id = await add_task(engine, demo.user("rep1"), first_place.id, clock.local_date("Asia/Shanghai"))
    at = clock.now() - timedelta(minutes=50)
    first = checkin_body(first_place, at, task_id=str(task_id))
    assert (await client.post(API, json=first, headers=headers)).status_code == 201
    second = checkin_body(second_place, at + timedelta(minutes=30))
    assert (await client.post(API, json=second, headers=headers)).status_code == 201

    closed = (await client.get(f"{API}/{first['id']}", headers=headers)).json()
    assert closed["status"] == "closed_by_next_visit"
    assert closed["checked_out_at"] == second["checked_in_at"].replace("+00:00", "Z")
    assert closed["closed_by_checkin_id"] == second["id"] and closed["outcome"] is None
    assert (await client.get(f"{API}/{second['id']}", headers=headers)).json()["status"] == "open"

    # The rep records how the first visit went after all: accepted, and its task is done.
    checkout = {"checked_out_at": (at + timedelta(minutes=25)).isoformat(), "outcome": "follow_up"}
    done = await client.post(f"{API}/{first['id']}/checkout", json=checkout, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["outcome"] == "follow_up"
    assert await count_rows(engine, Task, Task.id == task_id, Task.status == "done") == 1


async def test_two_offline_arrivals_replayed_late_in_any_order_keep_both_visits(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    a, b = await customers_of(engine, demo.user("rep1"), 2)
    at = clock.now() - timedelta(hours=3)
    earlier = checkin_body(a, at)
    later = checkin_body(b, at + timedelta(hours=1))
    # The second phone's later arrival reaches the server first; the older one comes after.
    assert (await client.post(API, json=later, headers=headers)).status_code == 201
    assert (await client.post(API, json=earlier, headers=headers)).status_code == 201
    old = (await client.get(f"{API}/{earlier['id']}", headers=headers)).json()
    assert old["status"] == "closed_by_next_visit" and old["closed_by_checkin_id"] == later["id"]
    assert (await client.get(f"{API}/{later['id']}", headers=headers)).json()["status"] == "open"
    # A replay of either changes nothing.
    assert (await client.post(API, json=earlier, headers=headers)).status_code == 200
    assert (
        await count_rows(
            engine, Checkin, Checkin.rep_id == demo.user("rep1"), Checkin.checked_out_at.is_(None)
        )
        == 1
    )
    assert await count_rows(engine, Checkin, Checkin.id.in_([earlier["id"], later["id"]])) == 2


async def test_today_shows_the_visit_in_progress_and_a_visit_left_open(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    await login_session(client, "rep1")
    page = client
    today = (await page.get("/")).text  # plans the day
    stops = json.loads(html_unescape(re.search(r"data-stops='([^']*)'", today).group(1)))  # type: ignore[union-attr]
    stop = stops[0]
    now = checkin_body(SimplePlace(stop), clock.now() - timedelta(minutes=20), task_id=stop["task_id"])
    assert (await client.post(API, json=now, headers=headers)).status_code == 201
    html = (await page.get("/")).text
    card = html[html.index(f'id="task-{stop["task_id"]}"') :][:4000]
    assert "In progress" in card and f'href="/checkins/{now["id"]}"' in card and "Continue visit" in card
    assert "data-since=" in card and "A visit is still open" not in html

    [place] = await customers_of(engine, demo.user("rep1"), 1)
    yesterday = checkin_body(place, clock.now() - timedelta(days=1))
    assert (await client.post(API, json=yesterday, headers=headers)).status_code == 201
    # It arrived late (an old outbox): it is closed by today's later arrival, never left open.
    assert (await client.get(f"{API}/{yesterday['id']}", headers=headers)).json()[
        "status"
    ] == "closed_by_next_visit"
    # A visit left open from yesterday (older data, or a second phone's race) is listed to close.
    async with engine.begin() as connection:
        await connection.execute(
            update(Checkin)
            .where(Checkin.id == UUID(yesterday["id"]))
            .values(checked_out_at=None, closed_by_checkin_id=None)
        )
    html = (await page.get("/")).text
    assert "A visit is still open" in html and f'href="/checkins/{yesterday["id"]}"' in html
    page_new = (await page.get(f"/checkins/new?customer_id={stop['customer_id']}")).text
    assert f'data-open-visit-id="{now["id"]}"' in page_new  # another phone resumes it


class SimplePlace:
    """A stop from Today's data-stops as the helpers' place (id and location)."""

    def __init__(self, stop: dict[str, Any]) -> None:
        self.id = stop["customer_id"]
        self.lat = stop["customer"]["lat"]
        self.lng = stop["customer"]["lng"]


async def test_no_reminder_for_a_stop_the_rep_is_checked_in_at(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
    clock: MutableClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Any,
) -> None:
    headers = await auth("rep1")
    here, elsewhere = await customers_of(engine, demo.user("rep1"), 2)
    now = clock.now()
    ids = {}
    async with sessionmaker() as session:
        for place in (here, elsewhere):
            task = Task(
                id=uuid4(), rep_id=demo.user("rep1"), customer_id=place.id, local_date=now.date(),
                due_at=now - timedelta(hours=1), kind="visit", source="manager", status="planned",
            )  # fmt: skip
            session.add(task)
            ids[place.id] = task.id
        await session.commit()
    arrival = checkin_body(here, now - timedelta(minutes=5))
    assert (await client.post(API, json=arrival, headers=headers)).status_code == 201
    result = await run_job("remind-overdue", sessionmaker, settings, now, force_slot=now.isoformat())
    assert result is not None and result["first_reminders"] == 1
    async with sessionmaker() as session:
        names = {c.id: c.name for c in (await session.scalars(select(Customer))).all() if c.id in ids}
        notes = (await session.scalars(select(Notification))).all()
        sent = {
            t.id: t.reminders_sent
            for t in (await session.scalars(select(Task))).all()
            if t.id in ids.values()
        }
    # One grouped reminder for the rep, naming only the customer not being visited.
    assert [n.user_id for n in notes] == [demo.user("rep1")]
    assert names[elsewhere.id] in notes[0].title + notes[0].body
    assert names[here.id] not in notes[0].title + notes[0].body
    assert sent == {ids[here.id]: 0, ids[elsewhere.id]: 1}
