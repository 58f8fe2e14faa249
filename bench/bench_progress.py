"""ProgressService.for_scopes for every rep on PostgreSQL, against the floor of one plain aggregate.

Floor: `SELECT rep_id, SUM(amount) FROM orders WHERE ordered_on BETWEEN <month> GROUP BY rep_id`
on the same connection pool in the same run: the least any progress computation must do.
for_scopes also loads the approved targets, the reps' units, the org tree, holidays and
thresholds and runs the pace rule per rep, so the ratio is the price of all of that.

    createdb -h 127.0.0.1 -U postgres fs_bench_plans
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/fs_bench_plans \\
        .venv/bin/fieldsales seed-demo --reps 1000 --customers 100000 --at 2026-11-18T02:00:00Z
    .venv/bin/python -m bench.bench_progress \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/fs_bench_plans --as-of 2026-11-18
    dropdb -h 127.0.0.1 -U postgres fs_bench_plans

`--profile N` runs one more for_scopes under cProfile and prints its top N functions (wall
clock: time waiting on PostgreSQL shows as `select.epoll.poll`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.services import Services
from server.db.engine import create_engine
from server.db.models import Order, User
from server.domain.calendar import month_end, month_start
from server.services.plans.progress import ProgressService


async def timed(runs: int, work: Callable[[], Awaitable[Any]]) -> tuple[list[float], list[float], Any]:
    """Wall-clock samples, this process's CPU samples (the rest is PostgreSQL or the machine's
    other work), and the last result."""
    await work()  # warm caches and the connection
    samples, cpu, result = [], [], None
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = await work()
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return samples, cpu, result


async def profiled(work: Callable[[], Awaitable[Any]], top: int) -> None:
    """One more call under cProfile; print where its time goes (own time, then cumulative)."""
    profiler = cProfile.Profile()
    profiler.enable()
    await work()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


async def main(database_url: str, as_of: date, runs: int, metric: str, profile: int) -> None:
    settings = Settings(DATABASE_URL=database_url, SCHEDULER=False, _env_file=None)  # type: ignore[call-arg]
    engine = create_engine(settings)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    start, end = month_start(as_of), month_end(as_of)
    async with sessionmaker() as session:
        await session.execute(text("ANALYZE"))
        reps = list((await session.scalars(select(User.id).where(User.role == "rep"))).all())
        services = Services(session=session, settings=settings, clock=Clock())
        progress = services.get(ProgressService)

        async def service() -> Any:
            return await progress.for_scopes("user", reps, as_of, metric, "month")

        async def floor() -> Any:
            query = (
                select(Order.rep_id, func.sum(Order.amount))
                .where(Order.ordered_on.between(start, end))
                .group_by(Order.rep_id)
            )
            return (await session.execute(query)).all()

        floor_times, floor_cpu, floor_rows = await timed(runs, floor)
        service_times, service_cpu, result = await timed(runs, service)
        if profile:
            await profiled(service, profile)
    await engine.dispose()

    statuses: dict[str, int] = {}
    for item in result.values():
        statuses[item.progress.status.value] = statuses.get(item.progress.status.value, 0) + 1
    floor_median, service_median = statistics.median(floor_times), statistics.median(service_times)
    print(
        f"reps: {len(reps)}  with an approved {metric} month target: {len(result)}  (floor rows {len(floor_rows)})"
    )
    print(f"as of {as_of}, month {start}..{end}; statuses {dict(sorted(statuses.items()))}")
    print(
        f"floor  SUM(amount) GROUP BY rep_id : median {floor_median * 1000:8.1f} ms  (min {min(floor_times) * 1000:.1f})"
        f"  python CPU {statistics.median(floor_cpu) * 1000:.1f} ms"
    )
    print(
        f"ProgressService.for_scopes        : median {service_median * 1000:8.1f} ms  (min {min(service_times) * 1000:.1f})"
        f"  python CPU {statistics.median(service_cpu) * 1000:.1f} ms"
    )
    print(f"ratio (median / median)           : {service_median / floor_median:.2f}x over {runs} runs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="postgresql+asyncpg://... of a seeded database")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--metric", default="revenue", choices=("revenue", "visits", "new_customers"))
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N",
        help="after timing, profile one more for_scopes call and print its top N functions",
    )  # fmt: skip
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.as_of, args.runs, args.metric, args.profile))
