"""The hot paths never read a big table from end to end (issue 25, docs/scale.md).

Every statement the hot paths run — the plan-day sweep (candidates and their order history),
progress for every rep, the escalate sweep (revenue and visit paces of reps and teams), a rep's
Today page, and a check-in + check-out — is captured as it runs on the seeded demo company, then
explained. A plan that scans a big, ever-growing table sequentially fails the test.

A small demo database would make PostgreSQL prefer a sequential scan everywhere (it is cheaper
there), so the plans are asked for with `enable_seqscan = off`: a Seq Scan then only remains where
no index can serve the statement, which is exactly what matters at 10,000 reps. SQLite's
`EXPLAIN QUERY PLAN` says "SCAN <table>" for a full table read, "SEARCH" for an index lookup.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.services import Services
from server.db.models import User
from server.jobs.registry import run_job
from server.services.plans.progress import ProgressService
from tests.conftest import Demo, MutableClock, login_session
from tests.integration.checkins.test_checkins_support import API, checkin_body, customers_of

# The tables that grow with the company's size and history.
BIG = {
    "orders",
    "checkins",
    "customers",
    "tasks",
    "notifications",
    "escalations",
    "escalation_events",
    "grade_history",
    "promises",
    "daily_plans",
    "targets",  # every rep's every period, and each version of it
    "rep_day_actuals",  # a row per rep and day
}


class Captured:
    def __init__(self) -> None:
        self.statements: list[tuple[str, str, Any]] = []
        self.path = ""

    def __call__(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        if not re.match(r"\s*(SELECT|WITH|UPDATE|DELETE)\b", statement, re.IGNORECASE):
            return
        if many:
            parameters = parameters[0] if parameters else ()
        self.statements.append((self.path, statement, parameters))


async def scans_of_big_tables(engine: AsyncEngine, statement: str, parameters: Any) -> list[str]:
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.exec_driver_sql("SET enable_seqscan = off")
            rows = (await connection.exec_driver_sql("EXPLAIN " + statement, parameters)).all()
            plan = [row[0] for row in rows]
            return [line for line in plan for t in BIG if re.search(rf"Seq Scan on {t}\b", line)]
        rows = (await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
        details = [str(row[-1]) for row in rows]
        return [d for d in details for t in BIG if re.fullmatch(rf"SCAN {t}( AS \w+)?", d)]


async def test_hot_paths_use_indexes_on_big_tables(
    client: AsyncTestClient[Any],
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
    settings: Settings,
    clock: MutableClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: Any,
) -> None:
    from server.services.plans import progress_targets

    captured = Captured()
    event.listen(Engine, "before_cursor_execute", captured)  # the app's engine too
    try:
        at = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
        captured.path = "plan-day"
        planned = await run_job("plan-day", sessionmaker, settings, at) or {}
        captured.path = "escalate"
        swept = await run_job("escalate", sessionmaker, settings, at + timedelta(minutes=5)) or {}
        captured.path = "progress"
        async with sessionmaker() as session:
            reps = list((await session.scalars(select(User.id).where(User.role == "rep"))).all())
            services = Services(session=session, settings=settings, clock=Clock(fixed=at))
            progress = services.get(ProgressService)
            for whole_at in (progress_targets.WHOLE_TARGETS_AT, 1):  # 1: as for 10,000 reps
                monkeypatch.setattr(progress_targets, "WHOLE_TARGETS_AT", whole_at)
                for metric in ("revenue", "visits"):
                    await progress.for_scopes("user", reps, at.date(), metric, "month")
                await progress.for_scopes(
                    "org_unit", list(demo.units.values()), at.date(), "revenue", "month"
                )
        headers = await auth("rep1")
        captured.path = "check-in"
        place = (await customers_of(engine, demo.user("rep1"), 1))[0]
        body = checkin_body(place, clock.now() - timedelta(minutes=30))
        assert (await client.post(API, json=body, headers=headers)).status_code == 201
        assert (await client.post(API, json=body, headers=headers)).status_code in (200, 201)  # a replay
        out = {"checked_out_at": clock.now().isoformat(), "outcome": "order", "order_amount": "120.00"}
        checkout = await client.post(f"{API}/{body['id']}/checkout", json=out, headers=headers)
        assert checkout.status_code in (200, 201), checkout.text
        await login_session(client, "rep1")
        captured.path = "today"
        today = await client.get("/")
        assert today.status_code == 200 and "rep1" not in today.url.path, today.status_code
        captured.path = "tasks"
        assert (await client.get("/api/v1/me/tasks", headers=headers)).status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", captured)

    assert planned.get("planned_reps", 0) > 0, planned
    assert swept, swept
    paths = {path for path, _, _ in captured.statements}
    assert paths == {"plan-day", "escalate", "progress", "today", "check-in", "tasks"}, paths
    bad: list[str] = []
    seen: set[str] = set()
    for path, statement, parameters in captured.statements:
        if statement in seen or re.search(r"WHERE 0 = 1|\(1 != 1\)", statement):
            continue  # seen already, or an empty IN list: nothing is read
        seen.add(statement)
        for line in await scans_of_big_tables(engine, statement, parameters):
            bad.append(f"[{path}] {line.strip()}\n    {' '.join(statement.split())[:400]}")
    assert not bad, "sequential scans of big tables on hot paths:\n" + "\n".join(bad)


async def plan_of(engine: AsyncEngine, statement: str, parameters: Any) -> list[str]:
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.exec_driver_sql("SET enable_seqscan = off")
            rows = (await connection.exec_driver_sql("EXPLAIN " + statement, parameters)).all()
            return [row[0] for row in rows]
        rows = (await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
        return [str(row[-1]) for row in rows]


async def test_every_reps_targets_of_the_period_are_an_index_range(
    engine: AsyncEngine,
    demo: Demo,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: Any,
) -> None:
    """Progress for every rep reads the scope's approved targets containing the day as a range of
    the period index, not by walking every target of the scope (266,000 at 10,000 reps)."""
    from server.services.plans import progress_targets

    monkeypatch.setattr(progress_targets, "WHOLE_TARGETS_AT", 1)  # as for 10,000 reps
    captured = Captured()
    event.listen(Engine, "before_cursor_execute", captured)
    try:
        async with sessionmaker() as session:
            reps = list((await session.scalars(select(User.id).where(User.role == "rep"))).all())
            services = Services(session=session, settings=settings, clock=Clock())
            answer = await services.get(ProgressService).for_scopes(
                "user", reps, datetime(2026, 11, 18).date()
            )
    finally:
        event.remove(Engine, "before_cursor_execute", captured)
    assert len(answer) == len(reps) > 0
    reads = [(sql, params) for _path, sql, params in captured.statements if "FROM targets" in sql]
    assert len(reads) == 1 and "scope_id IN" not in reads[0][0] and "ANY" not in reads[0][0], reads
    plan = await plan_of(engine, *reads[0])
    assert any("ix_targets_approved_period" in line for line in plan), plan
    if engine.dialect.name == "postgresql":
        # The index carries every column read (INCLUDE): once vacuumed, not a heap page is read.
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM targets")
        plan = await plan_of(engine, *reads[0])
        assert any("Index Only Scan using ix_targets_approved_period" in line for line in plan), plan
