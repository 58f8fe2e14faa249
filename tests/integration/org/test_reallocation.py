"""Reallocation as a flow: GET /api/v1/org/reallocation, acting on it (reassign, ask for a backup
plan; audited, both told) and the weekly executive push while a region stays under 70%."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import AuditEntry, Customer, Notification, User
from server.jobs.registry import run_job
from tests.conftest import Demo, MutableClock
from tests.integration.org.test_org_view import east_china_behind  # noqa: F401 (fixture)


async def test_the_suggestion_as_json(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    east_china_behind: dict[str, Any],  # noqa: F811
) -> None:
    response = await client.get("/api/v1/org/reallocation", headers=await auth("exec"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["threshold"] == "0.70"
    (east,) = [r for r in body["regions"] if r["region"]["name"] == "East China"]
    assert Decimal(east["region"]["pace"]) < Decimal("0.7")
    assert east["region"]["url"] == f"/team/units/{demo.units['East China']}"
    assert [t["name"] for t in east["teams_ahead_in_region"]] == ["Shanghai Team 1"]
    backups = east["backup_customers"]
    assert backups and {c["grade"] for c in backups} <= {"C", "D"}
    assert all(isinstance(c["potential"], str) for c in backups)  # money as strings, never floats
    assert not {c["id"] for c in backups} & {str(c) for c in east_china_behind["excluded"]}
    assert (await client.get("/api/v1/org/reallocation", headers=await auth("manager1"))).status_code == 403


async def test_ask_a_manager_to_plan_backup_customers(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    east_china_behind: dict[str, Any],  # noqa: F811
) -> None:
    headers = await auth("exec")
    east = next(
        r
        for r in (await client.get("/api/v1/org/reallocation", headers=headers)).json()["regions"]
        if r["region"]["name"] == "East China"
    )
    team2 = demo.units["Shanghai Team 2"]
    chosen = [c["id"] for c in east["backup_customers"] if c["org_unit_id"] == str(team2)][:3]
    assert chosen
    asked = await client.post(
        "/api/v1/org/reallocation/backup-requests",
        headers=headers,
        json={"org_unit_id": str(team2), "customer_ids": chosen, "note": "Fill the gap this month"},
    )
    assert asked.status_code == 201, asked.text
    manager_id = asked.json()["manager_id"]
    async with sessionmaker() as session:
        [note] = (
            await session.scalars(
                select(Notification).where(
                    Notification.kind == "reallocation", Notification.user_id == manager_id
                )
            )
        ).all()
        assert note.url == f"/team/units/{team2}" and note.body.startswith("Fill the gap this month")
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "reallocation.backup_requested")
        )
        assert audit is not None and audit.actor_id == demo.user("exec")
        assert all(c in str(audit.after["customer_ids"]) for c in chosen)
    la_customer = await _a_customer_of(sessionmaker, demo.user("rep2"))
    wrong = await client.post(
        "/api/v1/org/reallocation/backup-requests",
        headers=headers,
        json={"org_unit_id": str(team2), "customer_ids": [str(la_customer)]},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "customer_ids"
    missing = await client.post(
        "/api/v1/org/reallocation/backup-requests",
        headers=headers,
        json={"org_unit_id": str(uuid4()), "customer_ids": chosen},
    )
    assert missing.status_code == 404
    empty = await client.post(
        "/api/v1/org/reallocation/backup-requests",
        headers=headers,
        json={"org_unit_id": str(team2), "customer_ids": []},
    )
    assert empty.status_code == 400


async def test_reassign_a_reps_customers(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    headers = await auth("exec")
    rep1, rep3 = demo.user("rep1"), demo.user("rep3")
    async with sessionmaker() as session:
        before = await session.scalar(
            select(func.count()).where(Customer.owner_rep_id == rep3, Customer.status != "closed")
        )
        rep1_unit = await session.scalar(select(User.org_unit_id).where(User.id == rep1))
    assert before
    same = await client.post(
        "/api/v1/org/reallocation/reassign",
        headers=headers,
        json={"from_rep_id": str(rep3), "to_rep_id": str(rep3), "reason": "x"},
    )
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "to_rep_id"
    not_theirs = await client.post(
        "/api/v1/org/reallocation/reassign",
        headers=headers,
        json={
            "from_rep_id": str(rep3),
            "to_rep_id": str(rep1),
            "reason": "x",
            "customer_ids": [str(await _a_customer_of(sessionmaker, rep1))],
        },
    )
    assert not_theirs.status_code == 422 and not_theirs.json()["errors"][0]["field"] == "customer_ids"
    unknown = await client.post(
        "/api/v1/org/reallocation/reassign",
        headers=headers,
        json={"from_rep_id": str(uuid4()), "to_rep_id": str(rep1), "reason": "x"},
    )
    assert unknown.status_code == 404
    moved = await client.post(
        "/api/v1/org/reallocation/reassign",
        headers=headers,
        json={"from_rep_id": str(rep3), "to_rep_id": str(rep1), "reason": "Rep 3 is on leave"},
    )
    assert moved.status_code == 200, moved.text
    assert len(moved.json()["customer_ids"]) == before
    async with sessionmaker() as session:
        left = await session.scalar(
            select(func.count()).where(Customer.owner_rep_id == rep3, Customer.status != "closed")
        )
        assert left == 0
        units = set(
            await session.scalars(
                select(Customer.org_unit_id).where(Customer.id.in_(moved.json()["customer_ids"]))
            )
        )
        assert units == {rep1_unit}
        audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "reallocation.reassigned"))
        assert audit is not None and audit.after["reason"] == "Rep 3 is on leave"
        told = set(
            await session.scalars(select(Notification.user_id).where(Notification.kind == "reallocation"))
        )
        assert told == {rep1, rep3}
    assert (
        await client.post(
            "/api/v1/org/reallocation/reassign",
            headers=await auth("manager1"),
            json={"from_rep_id": str(rep3), "to_rep_id": str(rep1), "reason": "x"},
        )
    ).status_code == 403


async def test_weekly_push_once_a_week_while_a_region_is_under(
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: MutableClock,
    east_china_behind: dict[str, Any],  # noqa: F811
) -> None:
    async def push(at: datetime) -> int:
        result = await run_job("reallocation-weekly", sessionmaker, settings, at, force_slot=at.isoformat())
        assert result is not None
        return int(result["queued"])

    # Wednesday, Thursday, Saturday of one week, then Monday of the next.
    assert await push(datetime(2026, 11, 18, 10, 0, tzinfo=UTC)) == 1
    assert await push(datetime(2026, 11, 19, 10, 0, tzinfo=UTC)) == 0
    assert await push(datetime(2026, 11, 21, 10, 0, tzinfo=UTC)) == 0
    assert await push(datetime(2026, 11, 23, 10, 0, tzinfo=UTC)) == 1
    async with sessionmaker() as session:
        notes = (
            await session.scalars(
                select(Notification)
                .where(Notification.kind == "reallocation")
                .order_by(Notification.created_at)
            )
        ).all()
    assert {n.user_id for n in notes} == {demo.user("exec")}
    assert [n.dedup_key.rsplit(":", 1)[1] for n in notes] == ["2026-W47", "2026-W48"]
    assert "East China" in notes[0].body and notes[0].title == "1 region under 70% of plan"


async def _a_customer_of(sessionmaker: async_sessionmaker[AsyncSession], rep_id: Any) -> Any:
    async with sessionmaker() as session:
        return await session.scalar(select(Customer.id).where(Customer.owner_rep_id == rep_id).limit(1))
