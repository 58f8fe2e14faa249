"""Benchmark: the plan-day sweep for every rep, against a floor measured in the same run.

    createdb -h 127.0.0.1 -U postgres fs_bench_planner
    export DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/fs_bench_planner
    .venv/bin/fieldsales seed-demo --reps 1000 --customers 100000
    psql -h 127.0.0.1 -U postgres fs_bench_planner -c ANALYZE  # else the floor may take minutes
    .venv/bin/python -m bench.bench_planner
    dropdb -h 127.0.0.1 -U postgres fs_bench_planner

Floors, in the same run:
- scan: one SQL scan of every rep's candidate customers;
- inputs: one statement reading what the planner needs to rank them — every rep's active
  customers and prospects with their last 365 days of orders (count, sum, first, last) — with
  the rows fetched into Python (the planner ranks them there). The target: the planning within
  3x of this floor and >= 500 reps/s (issue 25).

At 10,000 reps (docs/scale.md):

    createdb -h 127.0.0.1 -U postgres bench_scale
    export DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_scale
    .venv/bin/fieldsales seed-demo --reps 10000 --customers 1000000 --at 2026-11-18T02:00:00Z
    .venv/bin/python -m bench.bench_planner
Figures: the full job (claim, close-day, plan, notify, commit) through run_job like the
scheduler; the planning alone (no notifications, rolled back); and the steady-state run 15
minutes later, when every rep already has a plan. It deletes earlier plans and tasks first, so
it can be re-run on the same database.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import load_settings
from server.core.services import Services
from server.db.engine import create_engine
from server.db.models import Customer, DailyPlan, JobRun, Notification, Order, Task, User
from server.jobs.registry import run_job
from server.services.tasks.planner import PLAN_FROM, PlannerService


async def sweep_moment(session: AsyncSession) -> datetime:
    """The first whole hour after the seed's "now" at which every rep is past 06:00 local."""
    seeded = await session.scalar(select(func.max(Order.created_at))) or datetime.now(UTC)
    zones = [
        ZoneInfo(z) for z in await session.scalars(select(User.timezone).where(User.role == "rep").distinct())
    ]
    moment = seeded.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while not all(moment.astimezone(zone).time() >= PLAN_FROM for zone in zones):
        moment += timedelta(hours=1)
    return moment


async def reset(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        await session.execute(delete(Task))
        await session.execute(delete(DailyPlan))
        await session.execute(delete(JobRun).where(JobRun.job == "plan-day"))
        await session.execute(delete(Notification).where(Notification.kind == "plan_ready"))
        await session.commit()


async def floor_scan(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[float, int]:
    """Best of three: fetch every rep's active customers and prospects in one query."""
    stmt = (
        select(
            Customer.id,
            Customer.owner_rep_id,
            Customer.grade,
            Customer.status,
            Customer.lat,
            Customer.lng,
            Customer.last_visit_on,
            Customer.last_order_on,
        )
        .join(User, User.id == Customer.owner_rep_id)
        .where(User.role == "rep", Customer.status.in_(("active", "prospect")))
    )
    best, rows = float("inf"), 0
    for _ in range(3):
        async with sessionmaker() as session:
            started = time.perf_counter()
            rows = len((await session.execute(stmt)).all())
            best = min(best, time.perf_counter() - started)
    return best, rows


INPUTS_FLOOR = text(
    """
    SELECT c.id, c.owner_rep_id, c.grade, c.status, c.lat, c.lng, c.last_visit_on, c.next_visit_due,
           c.last_order_on, h.orders, h.revenue, h.first_on, h.last_on
    FROM customers c
    JOIN users u ON u.id = c.owner_rep_id AND u.role = 'rep'
    LEFT JOIN (
        SELECT customer_id, count(*) AS orders, sum(amount) AS revenue, min(ordered_on) AS first_on,
               max(ordered_on) AS last_on
        FROM orders WHERE ordered_on > :since AND ordered_on <= :day GROUP BY customer_id
    ) h ON h.customer_id = c.id
    WHERE c.status IN ('active', 'prospect')
    """
)


async def floor_inputs(sessionmaker: async_sessionmaker[AsyncSession], day: date) -> float:
    """Best of three: the planner's inputs for every rep in one statement, fetched."""
    best = float("inf")
    for _ in range(3):
        async with sessionmaker() as session:
            started = time.perf_counter()
            (await session.execute(INPUTS_FLOOR, {"since": day - timedelta(days=365), "day": day})).all()
            best = min(best, time.perf_counter() - started)
    return best


async def planning_only(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Any, at: datetime
) -> tuple[float, float]:
    """The sweep's planning without notifications or commit (rolled back): wall and CPU seconds.

    The CPU time is this process's alone (ranking, row conversion, SQLAlchemy), so it is the
    figure a loaded machine disturbs least; the wall time adds PostgreSQL and waiting for a core.
    """
    async with sessionmaker() as session:
        services = Services(session=session, settings=settings, clock=Clock(fixed=at))
        started, cpu_started = time.perf_counter(), time.process_time()
        await services.get(PlannerService).plan_due_reps(notify=False)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        await session.rollback()
    return elapsed, cpu


async def main() -> None:
    settings = load_settings()
    if settings.is_sqlite:
        raise SystemExit("Set DATABASE_URL to the seeded PostgreSQL database (see the module docstring).")
    engine = create_engine(settings, command_timeout=None)  # 10,000 reps: statements beyond 60 s
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with sessionmaker() as session:
        at = await sweep_moment(session)
        reps = await session.scalar(select(func.count()).select_from(User).where(User.role == "rep"))
        customers = await session.scalar(select(func.count()).select_from(Customer))
    await reset(sessionmaker)
    print(f"database      {engine.url.render_as_string(hide_password=True)}", flush=True)
    floor_s, candidates = await floor_scan(sessionmaker)
    print(
        f"data          {reps} reps, {customers} customers ({candidates} candidates), sweep at {at.isoformat()}"
    )
    print(f"floor         {floor_s * 1000:9.1f} ms   one scan of every rep's candidate customers", flush=True)
    inputs_s = await floor_inputs(sessionmaker, at.date())
    print(
        f"inputs floor  {inputs_s * 1000:9.1f} ms   candidates + 365 days of orders, one statement, fetched",
        flush=True,
    )
    plan_s, plan_cpu_s = await planning_only(sessionmaker, settings, at)
    print(
        f"planning      {plan_s * 1000:9.1f} ms   {plan_s / max(reps or 1, 1) * 1000:.2f} ms/rep, "
        f"{plan_s / floor_s:.1f}x scan, {plan_s / inputs_s:.2f}x inputs floor, "
        f"{(reps or 0) / plan_s:.0f} reps/s (no notifications, rolled back); "
        f"CPU of this process {plan_cpu_s / max(reps or 1, 1) * 1000:.2f} ms/rep",
        flush=True,
    )
    started = time.perf_counter()
    result = await run_job("plan-day", sessionmaker, settings, at) or {}
    sweep_s = time.perf_counter() - started
    planned = int(result.get("planned_reps", 0))
    print(
        f"plan-day job  {sweep_s * 1000:9.1f} ms   {sweep_s / max(planned, 1) * 1000:.2f} ms/rep, "
        f"{sweep_s / floor_s:.1f}x scan, {sweep_s / inputs_s:.2f}x inputs floor, "
        f"{planned / sweep_s:.0f} reps/s: {planned} reps planned, {result.get('tasks')} tasks, "
        f"{result.get('notified')} notified",
        flush=True,
    )
    started = time.perf_counter()
    steady = await run_job("plan-day", sessionmaker, settings, at + timedelta(minutes=15)) or {}
    steady_s = time.perf_counter() - started
    await engine.dispose()
    print(
        f"steady state  {steady_s * 1000:9.1f} ms   next run, nothing to plan ({steady.get('planned_reps')} reps)"
    )


if __name__ == "__main__":
    asyncio.run(main())
