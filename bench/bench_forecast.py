"""The weekly forecast refit for a 1,000-rep company on PostgreSQL: wall time and peak memory,
against the floor of one SQL pass reading the same order history.

Floor: `SELECT rep_id, to_char(ordered_on, 'YYYY-MM'), SUM(amount) FROM orders JOIN users ...
WHERE ordered_on < as_of GROUP BY 1, 2` (the refit's own read, timed alone in the same run).
The refit is the real service call (ForecastService.refit: history read, rolling-origin backtest of
every candidate per level, fit, MinTrace reconciliation, in-period composition, rows stored),
then the nightly update of the next day. Both write: use a throwaway database.

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
from datetime import date, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.org import OrgTree
from server.core.services import provide_services
from server.db.engine import create_engine
from server.db.models import Forecast, ForecastRun, Order, User

FLOOR_SQL = text(
    "SELECT o.rep_id, to_char(o.ordered_on, 'YYYY-MM') AS month, SUM(o.amount) FROM orders o "
    "JOIN users u ON u.id = o.rep_id WHERE u.role = 'rep' AND o.ordered_on < :as_of GROUP BY 1, 2"
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
        async with sessionmaker() as session:
            started = time.perf_counter()
            rows = (await session.execute(FLOOR_SQL, {"as_of": as_of})).all()
            floors.append(time.perf_counter() - started)
    # The model libraries load lazily in the job; import them first so the refit's time is the
    # work, and report their import separately.
    started = time.perf_counter()
    import hierarchicalforecast.methods  # noqa: F401
    import pandas  # noqa: F401
    import statsforecast.models  # noqa: F401

    import_s = time.perf_counter() - started
    rss_before = peak_rss_mb()
    from server.services.forecasts.service import ForecastService

    async with provide_services(sessionmaker, settings, Clock()) as services:
        started, cpu_started = time.perf_counter(), time.process_time()
        run = await services.get(ForecastService).refit(company, as_of)
        refit_s, refit_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        assert run is not None
        methods = dict(run.methods)
        run_id = run.id
    rss_refit = peak_rss_mb()
    async with provide_services(sessionmaker, settings, Clock()) as services:
        started, cpu_started = time.perf_counter(), time.process_time()
        update = await services.get(ForecastService).update(company, as_of + timedelta(days=1))
        update_s, update_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        assert update is not None
    async with sessionmaker() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Forecast).where(Forecast.run_id == run_id)
        )
    await engine.dispose()
    floor = statistics.median(floors)
    print(f"reps {reps:,}, orders before {as_of}: {orders:,}; history rows {len(rows):,}")
    print(
        f"floor: one GROUP BY (rep, month) pass      median {floor:8.3f} s  (min {min(floors):.3f}, n={floor_runs})"
    )
    print(f"statsforecast + hierarchicalforecast import  {import_s:8.2f} s")
    print(
        f"weekly refit (backtest, fit, reconcile, store) {refit_s:7.1f} s  = {refit_s / floor:,.0f}x the floor"
        f"  (this process's CPU {refit_cpu:.1f} s)"
    )
    print(
        f"nightly update (no fit)                      {update_s:8.2f} s  = {update_s / floor:,.1f}x the floor"
        f"  (CPU {update_cpu:.1f} s)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")
    print(f"peak RSS: {rss_before:,.0f} MB before the refit (libraries loaded), {rss_refit:,.0f} MB after")
    print(f"forecast rows stored per run: {stored:,}; methods: {methods}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 18))
    parser.add_argument("--floor-runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.as_of, args.floor_runs))
