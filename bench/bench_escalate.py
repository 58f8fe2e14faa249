"""The escalate sweep for every rep and team on PostgreSQL, against the floor of one plain aggregate.

Floor: `SELECT rep_id, SUM(amount) FROM orders WHERE ordered_on BETWEEN <month start> AND <as of>
GROUP BY rep_id` on the same engine in the same run: the least any pace check must read.
The sweep is the real job (`run_job("escalate", ...)`, slot claim included): pace for every rep
(revenue and visits) and team through ProgressService, every open escalation locked and updated,
new ones inserted in bulk, events written, pushes queued. Two figures:

- first sweep: opens the escalations the seeded data calls for and queues a push for each;
- steady sweeps: 15 minutes apart afterwards, nothing new, every open escalation re-checked.

A second floor computes the same paces in one SQL statement: period-to-date revenue and completed
visits of every rep and every unit (team, region, company: reps' days rolled up the org tree),
each against its approved month and quarter target and the share of the period elapsed, as of the
sweep (issue 25: the steady sweep
within 5x of it, and <= 1 s at 10,000 reps).

The sweep writes escalations, notifications and job_runs: use a throwaway database.

    createdb -h 127.0.0.1 -U postgres fs_bench_escalate
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/fs_bench_escalate \\
        .venv/bin/fieldsales seed-demo --reps 1000 --customers 100000 --at 2026-11-18T02:00:00Z
    .venv/bin/python -m bench.bench_escalate \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/fs_bench_escalate --at 2026-11-18T02:00:00Z
    dropdb -h 127.0.0.1 -U postgres fs_bench_escalate
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.clock import parse_at
from server.config import Settings
from server.db.engine import create_engine
from server.db.models import Escalation, Notification, Order, User
from server.domain.calendar import month_start
from server.jobs.registry import run_job
from server.services.plans.progress import ProgressService

PACES_FLOOR = text(
    """
    WITH RECURSIVE up(unit_id, ancestor_id) AS (
        SELECT id, id FROM org_units
        UNION ALL
        SELECT up.unit_id, o.parent_id FROM up JOIN org_units o ON o.id = up.ancestor_id
        WHERE o.parent_id IS NOT NULL
    ), monthly AS (
        -- Periods start on the first of a month: per rep and month to date is all a pace needs.
        SELECT rep_id, date_trunc('month', ordered_on)::date AS month, 'revenue' AS metric, sum(amount) AS v
        FROM orders WHERE ordered_on BETWEEN :since AND :as_of AND rep_id IS NOT NULL GROUP BY 1, 2
        UNION ALL
        SELECT rep_id, date_trunc('month', checked_in_at AT TIME ZONE 'UTC')::date, 'visits', count(*)
        FROM checkins
        WHERE rep_id IN (SELECT id FROM users WHERE role = 'rep') AND checked_out_at IS NOT NULL
          AND checked_in_at >= CAST(:since AS date) AND checked_in_at < CAST(:as_of AS date) + 1
        GROUP BY 1, 2
    ), per_scope AS (
        SELECT 'user' AS scope, rep_id AS id, metric, month, v FROM monthly
        UNION ALL
        SELECT 'org_unit', up.ancestor_id, d.metric, d.month, sum(d.v)
        FROM monthly d JOIN users u ON u.id = d.rep_id JOIN up ON up.unit_id = u.org_unit_id
        GROUP BY up.ancestor_id, d.metric, d.month
    ), goals AS (
        SELECT scope, scope_id, metric, granularity, amount, period_start, period_end FROM targets
        WHERE status = 'approved' AND granularity IN ('month', 'quarter') AND metric IN ('revenue', 'visits')
          AND scope IN ('user', 'org_unit') AND period_start <= :as_of AND period_end >= :as_of
    )
    SELECT g.scope, g.scope_id, g.metric, g.granularity, g.amount, coalesce(sum(p.v), 0) AS actual,
           coalesce(sum(p.v), 0) / nullif(g.amount * (CAST(:as_of AS date) - g.period_start + 1)
                                          / (g.period_end - g.period_start + 1), 0) AS pace
    FROM goals g
    LEFT JOIN per_scope p ON p.scope = g.scope AND p.id = g.scope_id AND p.metric = g.metric
        AND p.month >= g.period_start
    GROUP BY g.scope, g.scope_id, g.metric, g.granularity, g.amount, g.period_start, g.period_end
    """
)


def time_progress_calls(spent: list[float]) -> None:
    """Record the time spent in ProgressService.for_queries (which for_scopes calls too), to show
    what the sweep adds to it."""
    original = ProgressService.for_queries

    async def timed(self: ProgressService, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    ProgressService.for_queries = timed  # type: ignore[method-assign]


async def main(database_url: str, at: datetime, runs: int) -> None:
    settings = Settings(DATABASE_URL=database_url, SCHEDULER=False, _env_file=None)  # type: ignore[call-arg]
    engine = create_engine(settings, command_timeout=None)  # 10,000 reps: statements beyond 60 s
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    as_of = at.date()
    async with sessionmaker() as session:
        await session.execute(text("ANALYZE"))
        await session.commit()
        reps = await session.scalar(select(func.count()).select_from(User).where(User.role == "rep"))
        if await session.scalar(select(func.count()).select_from(Escalation)):
            raise SystemExit("escalations already exist: run against a freshly seeded database")

    async def floor() -> None:
        async with sessionmaker() as session:
            query = (
                select(Order.rep_id, func.sum(Order.amount))
                .where(Order.ordered_on.between(month_start(as_of), as_of))
                .group_by(Order.rep_id)
            )
            (await session.execute(query)).all()

    async def paces_floor() -> int:
        async with sessionmaker() as session:
            since = date(as_of.year, (as_of.month - 1) // 3 * 3 + 1, 1)  # the quarter's first day
            params = {"as_of": as_of, "since": since}
            return len((await session.execute(PACES_FLOOR, params)).all())

    progress_spent: list[float] = []
    time_progress_calls(progress_spent)

    async def sweep(moment: datetime) -> tuple[float, dict[str, Any]]:
        progress_spent.clear()
        started = time.perf_counter()
        result = await run_job("escalate", sessionmaker, settings, moment)
        return time.perf_counter() - started, {**(result or {}), "progress_s": round(sum(progress_spent), 3)}

    await floor()  # warm the connection and caches
    floor_times = []
    for _ in range(runs):
        started = time.perf_counter()
        await floor()
        floor_times.append(time.perf_counter() - started)
    paces_rows = await paces_floor()
    paces_times = []
    for _ in range(runs):
        started = time.perf_counter()
        await paces_floor()
        paces_times.append(time.perf_counter() - started)
    print(
        f"floors: SUM GROUP BY rep_id {[round(t * 1000) for t in floor_times]} ms; "
        f"paces {[round(t * 1000) for t in paces_times]} ms ({paces_rows} rows)",
        flush=True,
    )
    first_time, first = await sweep(at)
    print(f"first sweep {first_time * 1000:.0f} ms: {first}", flush=True)
    steady = []
    for n in range(runs):
        steady.append(await sweep(at + timedelta(minutes=15 * (n + 1))))
        print(f"steady sweep {steady[-1][0] * 1000:.0f} ms: {steady[-1][1]}", flush=True)
    async with sessionmaker() as session:
        severities = Counter(
            dict(
                (
                    await session.execute(
                        select(Escalation.severity, func.count()).group_by(Escalation.severity)
                    )
                ).all()
            )
        )
        pushes = await session.scalar(select(func.count()).select_from(Notification))
    await engine.dispose()

    floor_median = statistics.median(floor_times)
    steady_median = statistics.median(t for t, _ in steady)
    print(f"reps: {reps}; as of {at.isoformat()}; escalations {dict(severities)}; pushes queued {pushes}")
    print(f"first sweep: {first}")
    progress_median = statistics.median(result["progress_s"] for _, result in steady)
    print(
        f"steady sweep: {steady[-1][1]}; median time inside ProgressService.for_queries {progress_median:.3f} s"
    )
    print(
        f"floor  SUM(amount) GROUP BY rep_id : median {floor_median * 1000:9.1f} ms  (min {min(floor_times) * 1000:.1f})"
    )
    paces_median = statistics.median(paces_times)
    print(
        f"floor  paces in one statement     : median {paces_median * 1000:9.1f} ms  "
        f"(min {min(paces_times) * 1000:.1f}; {paces_rows} scopes x metrics)"
    )
    print(
        f"escalate, first sweep             : {first_time * 1000:9.1f} ms  ratio {first_time / floor_median:.1f}x"
    )
    print(
        f"escalate, steady sweeps           : median {steady_median * 1000:9.1f} ms  "
        f"(min {min(t for t, _ in steady) * 1000:.1f})  ratio {steady_median / floor_median:.1f}x over {runs} runs; "
        f"{steady_median / paces_median:.1f}x the paces floor"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", required=True, help="postgresql+asyncpg://... of a freshly seeded database"
    )
    parser.add_argument(
        "--at", type=parse_at, required=True, help="the sweep's instant, e.g. 2026-11-18T02:00:00Z"
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.at, args.runs))
