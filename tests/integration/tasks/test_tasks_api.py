"""Task API: status changes and their validation, snoozes, added tasks, and who may see what."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Customer, Promise, Task
from tests.conftest import Demo

# Default test clock: 2026-11-18T02:00Z = 10:00 in Shanghai (rep1), Nov 17 18:00 in LA (rep2).


async def first_task(client: AsyncTestClient[Any], headers: dict[str, str]) -> dict[str, Any]:
    tasks = (await client.get("/api/v1/me/tasks", headers=headers)).json()["tasks"]
    if not tasks:
        await client.post("/api/v1/me/plan/regenerate", headers=headers)
        tasks = (await client.get("/api/v1/me/tasks", headers=headers)).json()["tasks"]
    return tasks[0]


def problem_fields(response: Any) -> set[str]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return {e["field"] for e in response.json().get("errors", [])}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"status": "missed"}, 422, "status"),
        ({"status": "finished"}, 422, "status"),
        ({"status": "skipped"}, 422, "reason"),
        ({"status": "skipped", "reason": "bored"}, 422, "reason"),
        ({"status": "skipped", "reason": "other"}, 422, "note"),
        ({"status": "done", "reason": "no_time"}, 422, "reason"),
        ({"status": "snoozed"}, 422, "snooze_until"),
        ({"status": "snoozed", "snooze_until": "09:00"}, 422, "snooze_until"),  # earlier today
        ({"status": "snoozed", "snooze_until": "2026-11-17"}, 422, "snooze_until"),  # yesterday
        ({"status": "snoozed", "snooze_until": "2026-11-18"}, 422, "snooze_until"),  # today, no time
        ({"status": "snoozed", "snooze_until": "next week"}, 422, "snooze_until"),
        ({"status": "snoozed", "snooze_until": "2027-06-01"}, 422, "snooze_until"),  # too far
        ({"status": "done", "colour": "red"}, 400, "colour"),
        ({"note": "x" * 2001}, 400, "note"),
    ],
)
async def test_bad_changes_are_4xx_naming_the_field(
    client: AsyncTestClient[Any], auth: Any, demo: Demo, body: dict[str, Any], status: int, field: str
) -> None:
    headers = await auth("rep1")
    task = await first_task(client, headers)
    response = await client.patch(f"/api/v1/tasks/{task['id']}", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert field in problem_fields(response)
    again = await client.get("/api/v1/me/tasks", headers=headers)
    assert next(t for t in again.json()["tasks"] if t["id"] == task["id"])["status"] == "planned"


async def test_done_skip_and_undo(client: AsyncTestClient[Any], auth: Any, demo: Demo) -> None:
    headers = await auth("rep1")
    task = await first_task(client, headers)
    url = f"/api/v1/tasks/{task['id']}"
    done = await client.patch(url, json={"status": "done", "note": "Signed the order"}, headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert done.json()["status_note"] == "Signed the order"
    assert (
        await client.patch(url, json={"status": "skipped", "reason": "no_time"}, headers=headers)
    ).status_code == 409
    undo = await client.patch(url, json={"status": "planned"}, headers=headers)
    assert undo.status_code == 200 and undo.json()["status"] == "planned"
    skipped = await client.patch(
        url, json={"status": "skipped", "reason": "other", "note": "Road closed"}, headers=headers
    )
    assert skipped.status_code == 200
    assert (skipped.json()["status"], skipped.json()["status_reason"]) == ("skipped", "other")
    counts = (await client.get("/api/v1/me/tasks", headers=headers)).json()["counts"]
    assert counts["skipped"] == 1 and counts["done"] == 0


async def test_snooze_later_today_sets_due_time_and_replays_harmlessly(
    client: AsyncTestClient[Any], auth: Any, demo: Demo
) -> None:
    headers = await auth("rep1")
    task = await first_task(client, headers)
    url = f"/api/v1/tasks/{task['id']}"
    for _ in range(2):  # the outbox may send the same change twice
        response = await client.patch(
            url, json={"status": "snoozed", "snooze_until": "15:30"}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "snoozed"
        assert body["snoozed_until"].startswith("2026-11-18T07:30:00")  # 15:30 in Shanghai
        assert body["due_at"] == body["snoozed_until"]
    noted = await client.patch(url, json={"note": "Gate locked until 15:00"}, headers=headers)
    assert noted.status_code == 200, noted.text
    assert (noted.json()["status"], noted.json()["snoozed_until"]) == ("snoozed", body["snoozed_until"])


async def test_snooze_to_a_date_moves_the_task_there_once(
    client: AsyncTestClient[Any], auth: Any, demo: Demo
) -> None:
    headers = await auth("rep1")
    task = await first_task(client, headers)
    url = f"/api/v1/tasks/{task['id']}"
    for _ in range(2):
        moved = await client.patch(
            url, json={"status": "snoozed", "snooze_until": "2026-11-20"}, headers=headers
        )
        assert moved.status_code == 200, moved.text
        assert (moved.json()["status"], moved.json()["status_reason"]) == ("snoozed", "rescheduled")
    there = (await client.get("/api/v1/me/tasks?date=2026-11-20", headers=headers)).json()
    copies = [t for t in there["tasks"] if t["carried_from_id"] == task["id"]]
    assert len(copies) == 1
    assert copies[0]["status"] == "planned" and copies[0]["customer"]["id"] == task["customer"]["id"]
    assert copies[0]["source"] == "rep" and copies[0]["reasons"] == task["reasons"]
    today = (await client.get("/api/v1/me/tasks", headers=headers)).json()
    assert today["counts"]["moved"] == 1 and today["counts"]["total"] == 7
    conflict = await client.patch(url, json={"status": "done"}, headers=headers)
    assert conflict.status_code == 409 and "status" in problem_fields(conflict)


async def test_done_by_hand_closes_the_promise(
    client: AsyncTestClient[Any], auth: Any, demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    rep1 = demo.user("rep1")
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(Customer.id).where(Customer.owner_rep_id == rep1, Customer.status == "active").limit(1)
        )
        promise = Promise(
            id=uuid4(),
            customer_id=customer,
            rep_id=rep1,
            text="Send samples",
            due_on=date(2026, 11, 18),
            status="open",
            created_at=datetime(2026, 11, 17, tzinfo=UTC),
        )
        session.add(promise)
        await session.commit()
    headers = await auth("rep1")
    await client.post("/api/v1/me/plan/regenerate", headers=headers)
    tasks = (await client.get("/api/v1/me/tasks", headers=headers)).json()["tasks"]
    follow_up = next(t for t in tasks if t["promise_id"] == str(promise.id))
    done = await client.patch(f"/api/v1/tasks/{follow_up['id']}", json={"status": "done"}, headers=headers)
    assert done.status_code == 200
    async with sessionmaker() as session:
        assert (await session.get_one(Promise, promise.id)).status == "done"


async def test_rep_adds_own_task_and_manager_pins_a_customer(
    client: AsyncTestClient[Any], auth: Any, demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rep1 = demo.user("rep1")
    own = await client.post("/api/v1/me/tasks", json={"title": "Call the office"}, headers=await auth("rep1"))
    assert own.status_code == 201, own.text
    assert (own.json()["kind"], own.json()["source"], own.json()["local_date"]) == (
        "custom",
        "rep",
        "2026-11-18",
    )
    untitled = await client.post("/api/v1/me/tasks", json={"kind": "call"}, headers=await auth("rep1"))
    assert untitled.status_code == 422 and "title" in problem_fields(untitled)
    past = await client.post(
        "/api/v1/me/tasks", json={"title": "x", "local_date": "2026-11-17"}, headers=await auth("rep1")
    )
    assert past.status_code == 422 and "local_date" in problem_fields(past)
    async with sessionmaker() as session:
        mine = await session.scalar(select(Customer.id).where(Customer.owner_rep_id == rep1).limit(1))
        theirs = await session.scalar(
            select(Customer.id).where(Customer.owner_rep_id == demo.user("rep2")).limit(1)
        )
    manager = await auth("manager1")
    foreign = await client.post(
        f"/api/v1/reps/{rep1}/tasks", json={"customer_id": str(theirs)}, headers=manager
    )
    assert foreign.status_code == 422 and "customer_id" in problem_fields(foreign)
    pin = await client.post(f"/api/v1/reps/{rep1}/tasks", json={"customer_id": str(mine)}, headers=manager)
    assert pin.status_code in (200, 201), pin.text
    body = pin.json()
    assert body["source"] == "manager" and body["reasons"][0]["code"] == "manager_pin"
    again = await client.post(f"/api/v1/reps/{rep1}/tasks", json={"customer_id": str(mine)}, headers=manager)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    async with sessionmaker() as session:
        pins = await session.scalars(select(Task).where(Task.rep_id == rep1, Task.customer_id == mine))
        assert len(pins.all()) == 1


SCOPE = {  # who may see rep1's day
    "rep1": True,
    "rep2": False,
    "manager1": True,
    "manager2": False,
    "exec": True,
    "admin": True,
}


async def test_scope_matrix(client: AsyncTestClient[Any], auth: Any, demo: Demo) -> None:
    rep1 = demo.user("rep1")
    for user, sees in SCOPE.items():
        task = await first_task(client, await auth("rep1"))  # a regenerate below replaces tasks
        headers = await auth(user)
        is_rep = user.startswith("rep")
        day = await client.get(f"/api/v1/reps/{rep1}/tasks", headers=headers)
        assert day.status_code == (200 if sees else 404), (user, day.text)
        if sees:
            assert task["id"] in {t["id"] for t in day.json()["tasks"]}
        change = await client.patch(
            f"/api/v1/tasks/{task['id']}", json={"note": f"by {user}"}, headers=headers
        )
        assert change.status_code == (200 if sees else 404), (user, change.text)
        add = await client.post(f"/api/v1/reps/{rep1}/tasks", json={"title": f"From {user}"}, headers=headers)
        assert add.status_code == (403 if is_rep else 201 if sees else 404), (user, add.text)
        again = await client.post(f"/api/v1/reps/{rep1}/plan/regenerate", headers=headers)
        assert again.status_code == (403 if is_rep else 200 if sees else 404), (user, again.text)
        mine = await client.get("/api/v1/me/tasks", headers=headers)
        assert mine.status_code == 200
        assert all(t["rep_id"] == str(demo.user(user)) for t in mine.json()["tasks"])
        own = await client.post("/api/v1/me/tasks", json={"title": "Mine"}, headers=headers)
        assert own.status_code == (201 if is_rep else 403), (user, own.text)
        regen = await client.post("/api/v1/me/plan/regenerate", headers=headers)
        assert regen.status_code == (200 if is_rep else 403), (user, regen.text)
    missing = await client.patch(
        "/api/v1/tasks/00000000-0000-4000-8000-000000000000", json={"note": "x"}, headers=await auth("exec")
    )
    assert missing.status_code == 404
    bad_id = await client.get("/api/v1/reps/not-a-uuid/tasks", headers=await auth("exec"))
    assert bad_id.status_code in (400, 404)
    manager_as_rep = await client.get(
        f"/api/v1/reps/{demo.user('manager1')}/tasks", headers=await auth("exec")
    )
    assert manager_as_rep.status_code == 404


async def test_regenerate_is_for_today_only(client: AsyncTestClient[Any], auth: Any, demo: Demo) -> None:
    headers = await auth("rep1")
    for day in ("2026-11-10", "2026-11-19"):
        response = await client.post(f"/api/v1/me/plan/regenerate?date={day}", headers=headers)
        assert response.status_code == 422 and "date" in problem_fields(response)
    today = await client.post("/api/v1/me/plan/regenerate?date=2026-11-18", headers=headers)
    assert today.status_code == 200 and len(today.json()["tasks"]) == 8
    malformed = await client.get("/api/v1/me/tasks?date=18-11-2026", headers=headers)
    assert malformed.status_code == 400 and "date" in problem_fields(malformed)
