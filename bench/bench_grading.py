"""Benchmark: the nightly regrade against the floor of one SQL aggregate over the same orders.

Setup (PostgreSQL; the README of this benchmark is this docstring):

    createdb -h 127.0.0.1 -U postgres fs_bench_grading
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/fs_bench_grading \\
        .venv/bin/fieldsales seed-demo --reps 1000 --customers 100000 --months 12
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/fs_bench_grading \\
        .venv/bin/python bench/bench_grading.py --repeat 5
    dropdb -h 127.0.0.1 -U postgres fs_bench_grading

Tops the orders up to --orders (default 1,000,000) if the seed made fewer. Each regrade runs
after a VACUUM, between two runs of the floor; figures are medians. Wall time compares with the
floor as PostgreSQL plans it (parallel); the database backend's CPU time (read from /proc when
PostgreSQL is local) compares with the floor run serially, and is not inflated by a busy host.
Scenarios:
- initial: every customer is ungraded, so every row is written (rolled back after timing);
- unchanged: the same day again, nothing changes and nothing is written;
- next day: a day later (recency moves, never-visited customers fall due), rolled back.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.clock import Clock, parse_at
from server.config import Settings
from server.core.services import Services
from server.db.engine import create_engine
from server.db.models import Customer, Order
from server.services.customers.grading import GradingService, RegradeResult

# The floor: SELECT customer_id, SUM(amount), COUNT(*), MAX(ordered_on) FROM orders GROUP BY
# customer_id, its rows consumed on the server like the regrade's. (A bare count(*) over it would
# let PostgreSQL drop the unused SUM and MAX; shipping 100,000 rows to Python measures the driver.)
FLOOR_ON_SERVER = (
    "SELECT count(*), sum(amount_sum), sum(orders), max(last_order) FROM ("
    "SELECT customer_id, SUM(amount) AS amount_sum, COUNT(*) AS orders, MAX(ordered_on) AS last_order "
    "FROM orders GROUP BY customer_id) AS floor"
)
RESET_SQL = """
UPDATE customers SET grade = 'D', computed_grade = NULL, r_score = NULL, f_score = NULL, m_score = NULL,
  revenue_365 = NULL, revenue_share = NULL, graded_at = NULL, next_visit_due = NULL
"""


async def top_up_orders(engine: AsyncEngine, target: int, today: datetime) -> tuple[int, int]:
    """Add synthetic orders (random customers, last 360 days) until there are `target`."""
    async with engine.begin() as connection:
        before = int(await connection.scalar(select(func.count()).select_from(Order)) or 0)
        missing = target - before
        if missing > 0:
            await connection.execute(
                text(
                    """
                    WITH c AS (SELECT array_agg(id ORDER BY id) AS ids,
                                      array_agg(owner_rep_id ORDER BY id) AS reps, count(*) AS n
                               FROM customers)
                    INSERT INTO orders (id, customer_id, rep_id, amount, currency, ordered_on, source, created_at)
                    SELECT gen_random_uuid(), c.ids[pick.k], c.reps[pick.k],
                           round((50 + random() * 2000)::numeric, 2), 'USD',
                           CAST(:today AS date) - (1 + floor(random() * 360))::int, 'import', now()
                    FROM c, LATERAL (SELECT 1 + floor(random() * c.n)::int AS k
                                     FROM generate_series(1, :missing)) AS pick
                    """
                ),
                {"missing": missing, "today": today.date()},
            )
    return before, max(before, target)


async def vacuum(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE customers, orders, grade_history"))


@dataclass
class Sample:
    wall: float
    cpu: float | None  # CPU seconds of the database backend; None when PostgreSQL is not local


def backend_cpu(pid: int) -> float | None:
    """utime + stime of a local PostgreSQL backend: unlike wall time, not inflated by a busy host."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(session: AsyncSession, work: Callable[[], Awaitable[Any]]) -> tuple[Sample, Any]:
    pid = int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)
    cpu_before, started = backend_cpu(pid), time.perf_counter()
    result = await work()
    wall, cpu_after = time.perf_counter() - started, backend_cpu(pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Sample(wall, cpu), result


async def floor(sessionmaker: async_sessionmaker[AsyncSession], serial: bool = False) -> Sample:
    """The floor with the planner's own plan (parallel here), or serial so one backend's CPU is all of it."""
    async with sessionmaker() as session:
        if serial:
            await session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        sample, _ = await measured(session, lambda: session.execute(text(FLOOR_ON_SERVER)))
        await session.rollback()
        return sample


async def regrade(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, at: datetime, commit: bool
) -> tuple[Sample, RegradeResult]:
    """One nightly regrade in its own transaction (the commit is timed when it is kept)."""
    async with sessionmaker() as session:
        services = Services(session=session, settings=settings, clock=Clock(fixed=at))

        async def work() -> RegradeResult:
            result = await services.get(GradingService).regrade_all()
            await (session.commit() if commit else session.rollback())
            return result

        return await measured(session, work)


def median_ms(samples: list[Sample], cpu: bool = False) -> float | None:
    values = [s.cpu if cpu else s.wall for s in samples]
    return None if None in values else statistics.median(values) * 1000  # type: ignore[type-var]


def ratio(over: float | None, base: float | None) -> str:
    return "   -  " if over is None or not base else f"{over / base:5.2f}x"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--at", default=None, help="grade as of this instant (default: now)")
    args = parser.parse_args()
    settings = Settings(DATABASE_URL=os.environ["DATABASE_URL"], SCHEDULER=False, _env_file=None)  # type: ignore[call-arg]
    if settings.is_sqlite:
        raise SystemExit("this benchmark is for PostgreSQL")
    at = parse_at(args.at) if args.at else datetime.now(UTC)
    engine = create_engine(settings, command_timeout=None)  # 10,000 reps: statements beyond 60 s
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    before, orders = await top_up_orders(engine, args.orders, at)
    async with sessionmaker() as session:
        customers = await session.scalar(select(func.count()).select_from(Customer))
    print(f"customers {customers:,}  orders {orders:,} (seeded {before:,})  as of {at.isoformat()}")
    print(
        f"{'':<30} {'wall':>9} {'floor':>9} {'ratio':>6}   {'db cpu':>9} {'floor':>9} {'ratio':>6}   written"
    )

    async def run(name: str, at_: datetime, commit: bool, reset: bool) -> None:
        floors, serial_floors, runs = [], [], []
        result = RegradeResult()
        for _ in range(args.repeat):
            if reset:
                async with engine.begin() as connection:
                    await connection.execute(text(RESET_SQL))
                    await connection.execute(text("DELETE FROM grade_history"))
            await vacuum(engine)  # as autovacuum would between nights (rolled-back runs leave dead rows)
            floors.append(await floor(sessionmaker))
            sample, result = await regrade(sessionmaker, settings, at_, commit)
            runs.append(sample)
            serial_floors.append(await floor(sessionmaker, serial=True))
        wall, floor_wall = median_ms(runs), median_ms(floors)
        cpu, floor_cpu = median_ms(runs, cpu=True), median_ms(serial_floors, cpu=True)
        print(
            f"{name:<30} {wall or 0:7.0f}ms {floor_wall or 0:7.0f}ms {ratio(wall, floor_wall)}   "
            f"{cpu or 0:7.0f}ms {floor_cpu or 0:7.0f}ms {ratio(cpu, floor_cpu)}   "
            f"{result.changed:,} customers, {result.grade_changes:,} history rows"
        )

    await vacuum(engine)
    await floor(sessionmaker)  # warm the cache
    await run("initial (every row written)", at, commit=False, reset=True)
    await regrade(sessionmaker, settings, at, commit=True)  # graded as of `at` from here on
    await run("unchanged (same day again)", at, commit=True, reset=False)
    await run("next day (a night's changes)", at + timedelta(days=1), commit=False, reset=False)
    print("wall: medians, regrade vs the planner's floor plan (parallel) run just before it;")
    print("db cpu: the backend's CPU time, regrade vs the same floor run serially (one backend).")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
