"""plan-day: one plan per rep per local date at the rep's local 06:00, safe under concurrency;
close-day marks unfinished tasks missed at local midnight and the next plan carries them over."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import DailyPlan, Holiday, Notification, Task, User
from server.jobs.registry import run_job
from tests.conftest import Demo


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def plans_by_rep(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> dict[UUID, list[tuple[date, datetime]]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(DailyPlan.rep_id, DailyPlan.local_date, DailyPlan.generated_at).order_by(
                DailyPlan.local_date
            )
        )
        found: dict[UUID, list[tuple[date, datetime]]] = {}
        for rep_id, local_date, generated_at in rows:
            found.setdefault(rep_id, []).append((local_date, generated_at))
        return found


async def day_tasks(sessionmaker: async_sessionmaker[AsyncSession], rep_id: UUID, day: date) -> list[Task]:
    async with sessionmaker() as session:
        stmt = select(Task).where(Task.rep_id == rep_id, Task.local_date == day).order_by(Task.route_order)
        return list((await session.scalars(stmt)).all())


async def test_plans_appear_at_each_reps_local_six(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1, rep2 = demo.user("rep1"), demo.user("rep2")  # Asia/Shanghai, America/Los_Angeles
    # Los Angeles 06:00 on Nov 18 is 14:00Z; Shanghai 06:00 on Nov 19 is 22:00Z on Nov 18.
    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T13:59:00"))
    plans = await plans_by_rep(sessionmaker)
    assert [d for d, _ in plans[rep1]] == [date(2026, 11, 18)]  # 21:59 in Shanghai
    assert rep2 not in plans  # 05:59 in Los Angeles: too early

    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T14:00:00"))
    plans = await plans_by_rep(sessionmaker)
    assert plans[rep2] == [(date(2026, 11, 18), at("2026-11-18T14:00:00"))]
    assert [d for d, _ in plans[rep1]] == [date(2026, 11, 18)]

    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T21:59:00"))
    assert [d for d, _ in (await plans_by_rep(sessionmaker))[rep1]] == [date(2026, 11, 18)]

    for moment in ("2026-11-18T22:00:00", "2026-11-18T22:15:00", "2026-11-18T23:30:00"):
        await run_job("plan-day", sessionmaker, settings, at(moment))
    plans = await plans_by_rep(sessionmaker)
    assert plans[rep1] == [
        (date(2026, 11, 18), at("2026-11-18T13:59:00")),
        (date(2026, 11, 19), at("2026-11-18T22:00:00")),
    ]
    assert [d for d, _ in plans[rep2]] == [date(2026, 11, 18)]
    assert all(len(days) == len({d for d, _ in days}) for days in plans.values())
    assert len(await day_tasks(sessionmaker, rep1, date(2026, 11, 19))) == 8


async def test_concurrent_runs_never_duplicate_plans_or_tasks(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    moment = at("2026-11-18T23:00:00")  # past 06:00 for every demo rep (Shanghai and Los Angeles)
    results: list[Any] = await asyncio.gather(
        *(run_job("plan-day", sessionmaker, settings, moment, force_slot=f"race-{n}") for n in range(3))
    )
    assert sum(r["planned_reps"] for r in results) == 8
    async with sessionmaker() as session:
        plans = (await session.execute(select(DailyPlan.rep_id, DailyPlan.local_date))).all()
        tasks = (await session.execute(select(Task.rep_id, Task.local_date, Task.customer_id))).all()
    assert len(plans) == len(set(plans)) == 8
    assert max(Counter(tasks).values()) == 1
    assert len(tasks) == sum(r["tasks"] for r in results) == 64
    again = await run_job("plan-day", sessionmaker, settings, moment, force_slot="race-late")
    assert again is not None and again["planned_reps"] == 0 and again["tasks"] == 0


async def test_plan_ready_notification_once_per_rep_and_date(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T02:00:00"))
    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T02:00:00"), force_slot="again")
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(
                    Notification.user_id, Notification.title, Notification.url, Notification.dedup_key
                ).where(Notification.kind == "plan_ready")
            )
        ).all()
    assert len(rows) == 8 and len({r.user_id for r in rows}) == 8
    mine = next(r for r in rows if r.user_id == demo.user("rep1"))
    assert mine.title == "Your plan for today is ready" and mine.url == "/"
    assert mine.dedup_key == f"plan-ready:{demo.user('rep1')}:2026-11-18"


async def test_close_day_at_local_midnight_and_carry_over(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T02:00:00"))  # 10:00 in Shanghai
    first = await day_tasks(sessionmaker, rep1, date(2026, 11, 18))
    done, skipped, snoozed = first[0], first[1], first[2]
    async with sessionmaker() as session:
        await session.execute(update(Task).where(Task.id == done.id).values(status="done"))
        await session.execute(
            update(Task).where(Task.id == skipped.id).values(status="skipped", status_reason="no_time")
        )
        await session.execute(
            update(Task)
            .where(Task.id == snoozed.id)
            .values(status="snoozed", snoozed_until=at("2026-11-18T08:00:00"))
        )
        await session.commit()

    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T15:59:00"))  # 23:59 local
    statuses = Counter(t.status for t in await day_tasks(sessionmaker, rep1, date(2026, 11, 18)))
    assert statuses == {"planned": 5, "done": 1, "skipped": 1, "snoozed": 1}

    result = await run_job("plan-day", sessionmaker, settings, at("2026-11-18T16:00:00"))  # midnight
    assert result is not None and result["missed"] >= 6
    yesterday = {t.id: t for t in await day_tasks(sessionmaker, rep1, date(2026, 11, 18))}
    assert Counter(t.status for t in yesterday.values()) == {"missed": 6, "done": 1, "skipped": 1}
    # 00:00 is before 06:00: the day is closed but the next one is not planned yet.
    assert date(2026, 11, 19) not in dict((await plans_by_rep(sessionmaker))[rep1])

    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T22:00:00"))  # 06:00 on Nov 19
    today = await day_tasks(sessionmaker, rep1, date(2026, 11, 19))
    carried = [t for t in today if t.source == "carry_over"]
    assert len(carried) == 6 and len(today) == 8
    for task in carried:
        parent = yesterday[task.carried_from_id]
        assert parent.status == "missed" and parent.customer_id == task.customer_id
        reason = next(r for r in task.reasons if r["code"] == "carry_over")
        assert reason["text"] == "Carried over from 2026-11-18"
    assert {t.carried_from_id for t in carried}.isdisjoint({done.id, skipped.id})


async def test_a_task_is_carried_over_once(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1 = demo.user("rep1")
    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T02:00:00"))
    await run_job("plan-day", sessionmaker, settings, at("2026-11-18T22:00:00"))  # Nov 19
    async with sessionmaker() as session:  # everything on Nov 19 done: nothing left to carry
        await session.execute(
            update(Task)
            .where(Task.rep_id == rep1, Task.local_date == date(2026, 11, 19))
            .values(status="done")
        )
        await session.commit()
    await run_job("plan-day", sessionmaker, settings, at("2026-11-19T22:00:00"))  # Nov 20
    async with sessionmaker() as session:
        carried_to_20 = await session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.rep_id == rep1, Task.local_date == date(2026, 11, 20), Task.source == "carry_over")
        )
    assert carried_to_20 == 0  # Nov 18's misses were carried to Nov 19 already


async def test_no_plan_on_weekends_or_the_units_holidays(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, demo: Demo
) -> None:
    rep1, rep2 = demo.user("rep1"), demo.user("rep2")  # Asia/Shanghai, America/Los_Angeles
    # Saturday Nov 21 starts at 22:00Z on Nov 20 in Shanghai and at 14:00Z on Nov 21 in LA.
    result = await run_job("plan-day", sessionmaker, settings, at("2026-11-21T15:00:00"))
    assert result is not None and result["planned_reps"] == 0
    plans = await plans_by_rep(sessionmaker)
    assert all(d.weekday() < 5 for days in plans.values() for d, _ in days)

    async with sessionmaker() as session:  # a holiday on rep1's company: nobody below it is planned
        rep1_unit = await session.scalar(select(User.org_unit_id).where(User.id == rep1))
        session.add(Holiday(org_unit_id=demo.company_id, day=date(2026, 11, 23), name="Company day"))
        await session.commit()
    assert rep1_unit is not None
    await run_job("plan-day", sessionmaker, settings, at("2026-11-23T15:00:00"))  # Mon in both zones
    plans = await plans_by_rep(sessionmaker)
    assert date(2026, 11, 23) not in [d for d, _ in plans.get(rep1, [])]
    assert date(2026, 11, 23) not in [d for d, _ in plans.get(rep2, [])]
    await run_job("plan-day", sessionmaker, settings, at("2026-11-24T15:00:00"))  # Tuesday: planned
    plans = await plans_by_rep(sessionmaker)
    assert date(2026, 11, 24) in [d for d, _ in plans[rep1]]
    assert date(2026, 11, 24) in [d for d, _ in plans[rep2]]


async def _plans_and_tasks(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(
                Task.rep_id,
                Task.customer_id,
                Task.kind,
                Task.rank,
                Task.route_order,
                Task.score,
                Task.reasons,
            ).order_by(Task.rep_id, Task.rank)
        )
        return [tuple(row) for row in rows]


async def test_batches_read_ahead_plan_the_same_days(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    demo: Demo,
    engine_name: str,
    monkeypatch: Any,
) -> None:
    """Reps planned in batches of 3, each next batch's candidates read on a second connection
    (PostgreSQL) while the current one is composed, get exactly the days of one batch of all."""
    from server.services.tasks import planner, planner_inputs

    reads: list[Any] = []
    claims: list[Any] = []
    read, claim = planner_inputs.candidates_of, planner.PlannerService._claim_plans

    async def spy_read(connection: Any, rep_ids: Any, day: date) -> Any:
        reads.append(connection.sync_connection.connection)
        return await read(connection, rep_ids, day)

    async def spy_claim(self: Any, reps: Any, day: date) -> Any:
        claims.append((await self.session.connection()).sync_connection.connection)
        return await claim(self, reps, day)

    monkeypatch.setattr(planner_inputs, "candidates_of", spy_read)
    monkeypatch.setattr(planner.PlannerService, "_claim_plans", spy_claim)
    moment = at("2026-11-18T23:00:00")  # every demo rep is past 06:00
    monkeypatch.setattr(planner, "BATCH_REPS", 3)
    batched = await run_job("plan-day", sessionmaker, settings, moment, force_slot="batches-of-3")
    assert batched is not None and batched["planned_reps"] == 8
    in_batches = await _plans_and_tasks(sessionmaker)
    assert len(reads) == len(claims) >= 3  # 8 reps in two local dates: batches of at most 3
    if engine_name == "postgresql":
        assert not set(reads) & set(claims)  # read on a connection of their own
    else:
        assert set(reads) == set(claims)  # SQLite: on the session's, in turn

    async with sessionmaker() as session:
        for model in (Task, DailyPlan, Notification):
            await session.execute(delete(model))
        await session.commit()
    monkeypatch.setattr(planner, "BATCH_REPS", 500)
    whole = await run_job("plan-day", sessionmaker, settings, moment, force_slot="one-batch")
    assert whole is not None and whole["planned_reps"] == 8
    assert await _plans_and_tasks(sessionmaker) == in_batches
    assert len(in_batches) == 64
