"""The weekly forecast refit for a 1,000-rep company on PostgreSQL: wall time, CPU and peak memory,
against the floor of one SQL pass reading the same order history.

Floor: `SELECT rep_id, to_char(ordered_on, 'YYYY-MM'), SUM(amount) FROM orders JOIN users ...
WHERE ordered_on < as_of GROUP BY 1, 2`, run serially (one backend does all of it) and fetched,
timed alone in the same run. The refit is the real service call (ForecastService.refit: history
read, each level's method chosen on a sample of its series, the chosen method's backtest of every
series, fit, MinTrace reconciliation, in-period composition, rows stored, commit), then the
nightly update of the next day. Each reports wall time and CPU: this process's, plus its
database backend's read from /proc (PostgreSQL on this host), which a busy machine inflates far
less than wall time; ratios are to the floor of the same run. Both write: use a throwaway
database.

    createdb -h 127.0.0.1 -U postgres bench_fcast
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_fcast \\
        python -m server.cli seed-demo --reps 1000 --customers 100000 --at 2026-11-18T02:00:00Z
    python -m bench.bench_forecast \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_fcast --as-of 2026-11-18
    dropdb -h 127.0.0.1 -U postgres bench_fcast
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.bench_grading import backend_cpu  # the same database-side CPU reading
from server.clock import Clock
from server.config import Settings
from server.core.org import OrgTree
from server.core.services import Services
from server.db.engine import create_engine
from server.db.models import Forecast, ForecastAccuracy, ForecastRun, Order, User

FLOOR_SQL = text(
    "SELECT o.rep_id, to_char(o.ordered_on, 'YYYY-MM') AS month, SUM(o.amount) FROM orders o "
    "JOIN users u ON u.id = o.rep_id WHERE u.role = 'rep' AND o.ordered_on < :as_of GROUP BY 1, 2"
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Sample:
    wall: float
    cpu: float  # this process
    db_cpu: float | None  # the session's database backend

    @property
    def total_cpu(self) -> float | None:
        return None if self.db_cpu is None else self.cpu + self.db_cpu


async def measured(session: AsyncSession, work: Callable[[], Awaitable[Any]]) -> tuple[Sample, Any]:
    pid = int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)
    db_before, cpu_before, started = backend_cpu(pid), time.process_time(), time.perf_counter()
    result = await work()
    wall, cpu, db_after = time.perf_counter() - started, time.process_time() - cpu_before, backend_cpu(pid)
    db = None if db_before is None or db_after is None else db_after - db_before
    return Sample(wall, cpu, db), result


async def floor(sessionmaker: async_sessionmaker[AsyncSession], as_of: date) -> tuple[Sample, int]:
    """The floor, fetched; serial so its one backend's CPU is all the database did for it."""
    async with sessionmaker() as session:
        await session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        sample, rows = await measured(session, lambda: session.execute(FLOOR_SQL, {"as_of": as_of}))
        count = len(rows.all())
        await session.rollback()
        return sample, count


async def service_call(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, call: str, company: UUID, day: date
) -> tuple[Sample, ForecastRun | None]:
    """ForecastService.refit or .update in its own transaction, the commit timed with it."""
    from server.services.forecasts.service import ForecastService

    async with sessionmaker() as session:
        service = Services(session=session, settings=settings, clock=Clock()).get(ForecastService)

        async def work() -> ForecastRun | None:
            run = await getattr(service, call)(company, day)
            await session.commit()
            return cast(ForecastRun | None, run)

        return await measured(session, work)


def _cpu(sample: Sample) -> str:
    db = "-" if sample.db_cpu is None else f"{sample.db_cpu:.2f} s"
    return f"CPU: this process {sample.cpu:.2f} s, database {db}"


async def main(database_url: str, as_of: date, floor_runs: int) -> None:
    settings = Settings(DATABASE_URL=database_url, SCHEDULER=False, _env_file=None)  # type: ignore[call-arg]
    engine = create_engine(settings)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with sessionmaker() as session:
        reps = await session.scalar(select(func.count()).select_from(User).where(User.role == "rep"))
        orders = await session.scalar(select(func.count()).select_from(Order).where(Order.ordered_on < as_of))
        company = (await OrgTree.load(session)).companies()[0]
        await session.execute(delete(ForecastRun).where(ForecastRun.company_id == company))
        await session.commit()
    floors = []
    for _ in range(floor_runs):
        sample, rows = await floor(sessionmaker, as_of)
        floors.append(sample)
    # The model libraries load lazily in the job; import them first so the refit's time is the
    # work, and report their import separately.
    started = time.perf_counter()
    import hierarchicalforecast.methods  # noqa: F401
    import pandas  # noqa: F401
    import statsforecast.models  # noqa: F401

    import_s = time.perf_counter() - started
    rss_before = peak_rss_mb()
    refit, run = await service_call(sessionmaker, settings, "refit", company, as_of)
    assert run is not None
    methods, run_id = dict(run.methods), run.id
    rss_refit = peak_rss_mb()
    update, run = await service_call(sessionmaker, settings, "update", company, as_of + timedelta(days=1))
    assert run is not None
    async with sessionmaker() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Forecast).where(Forecast.run_id == run_id)
        )
        accuracy = await session.scalar(
            select(func.count()).select_from(ForecastAccuracy).where(ForecastAccuracy.run_id == run_id)
        )
    await engine.dispose()
    wall = statistics.median(s.wall for s in floors)
    totals = [t for s in floors if (t := s.total_cpu) is not None]
    floor_cpu = statistics.median(totals) if totals else None
    print(f"reps {reps:,}, orders before {as_of}: {orders:,}; history rows {rows:,}")
    print(
        f"floor: one GROUP BY (rep, month) pass, serial, fetched: wall median {wall:.3f} s "
        f"(min {min(s.wall for s in floors):.3f}, n={floor_runs}); "
        + _cpu(min(floors, key=lambda s: s.total_cpu or s.wall))
        + " (the run with the least CPU)"
    )
    print(f"statsforecast + hierarchicalforecast import  {import_s:.2f} s")
    for name, sample in (
        ("weekly refit (choose, backtest, fit, reconcile, store, commit)", refit),
        ("nightly update (no fit)", update),
    ):
        cpu_ratio = (
            ""
            if floor_cpu is None or sample.total_cpu is None
            else (
                f"; CPU (process + database) {sample.total_cpu:.2f} s = {sample.total_cpu / floor_cpu:.2f}x the floor's"
                f" {floor_cpu:.2f} s"
            )
        )
        print(
            f"{name}: wall {sample.wall:.2f} s = {sample.wall / wall:.2f}x the floor; {_cpu(sample)}{cpu_ratio}"
        )
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    print(f"peak RSS: {rss_before:,.0f} MB before the refit (libraries loaded), {rss_refit:,.0f} MB after")
    print(f"rows stored by the refit: {stored:,} forecasts, {accuracy:,} accuracy; methods: {methods}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 18))
    parser.add_argument("--floor-runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.as_of, args.floor_runs))
