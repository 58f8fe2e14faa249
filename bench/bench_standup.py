"""Benchmark: the stand-up board of a team and the weekly review of a region on PostgreSQL,
each against a floor measured in the same run.

    createdb -h 127.0.0.1 -U postgres fs_bench_standup
    DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/fs_bench_standup \\
        .venv/bin/fieldsales seed-demo --reps 1000 --customers 100000 --at 2026-11-18T02:00:00Z
    .venv/bin/python -m bench.bench_standup \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/fs_bench_standup
    dropdb -h 127.0.0.1 -U postgres fs_bench_standup

The seed has orders, visits and targets but no daily tasks, promises or escalations, and every
customer is still grade D. The first run therefore regrades the customers and writes a month of
synthetic visit tasks (8 a working day per rep, mostly done), an overdue promise for every
fifth rep and an open escalation for every seventh; later runs reuse them.

Floors (one plain aggregate over the same rows, same connection, same run):
- board: SUM/COUNT of the team's orders of the month to date, GROUP BY rep_id;
- review: the same over the region's reps.
The board also reads tasks, check-ins, promises, escalations and targets, and the review
reach, tasks and plans at several dates, so the ratio is the price of all of that. The
statement count shows the work does not grow with the number of reps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.access import Principal, Scope
from server.core.services import Services
from server.db.engine import create_engine
from server.db.models import Customer, Escalation, Order, OrgUnit, Promise, Task, User
from server.domain.calendar import month_start
from server.services.customers.grading import GradingService
from server.services.reviews.standup import StandupService
from server.services.reviews.weekly import ReviewsService

TASKS_PER_DAY = 8


async def timed(runs: int, work: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    await work()  # warm caches and the connection
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await work()
        samples.append(time.perf_counter() - started)
    return samples, result


async def prepare(session: AsyncSession, settings: Settings, clock: Clock, day: date) -> str:
    """Grades, tasks, promises and escalations the seed does not make (once per database)."""
    notes = []
    if not await session.scalar(select(func.count()).select_from(Customer).where(Customer.grade == "A")):
        await Services(session=session, settings=settings, clock=clock).get(GradingService).regrade_all()
        notes.append("regraded customers")
    if not await session.scalar(select(func.count()).select_from(Task)):
        notes.append(f"{await _write_tasks(session, clock, day)} tasks")
        notes.append(f"{await _write_blockers(session, clock)} promises and escalations")
    await session.commit()
    return ", ".join(notes) or "reused earlier tasks"


async def _write_tasks(session: AsyncSession, clock: Clock, day: date) -> int:
    rng = random.Random(10)
    owned: dict[UUID, list[UUID]] = {}
    for rep_id, customer_id in await session.execute(
        select(Customer.owner_rep_id, Customer.id).where(Customer.status == "active")
    ):
        owned.setdefault(rep_id, []).append(customer_id)
    days = [month_start(day) + timedelta(n) for n in range((day - month_start(day)).days + 1)]
    now = clock.now()
    rows = []
    for rep_id, customers in owned.items():
        for local_date in (d for d in days if d.weekday() < 5):
            for rank, customer_id in enumerate(rng.sample(customers, min(TASKS_PER_DAY, len(customers))), 1):
                roll = rng.random()
                status = (
                    "planned"
                    if local_date == day
                    else "done"
                    if roll < 0.7
                    else "missed"
                    if roll < 0.85
                    else "skipped"
                )
                rows.append((uuid4(), rep_id, local_date, customer_id, "visit", rank, rank, 1.0, "[]", status,
                             "planner", 0, now, now))  # fmt: skip
    columns = ["id", "rep_id", "local_date", "customer_id", "kind", "rank", "route_order", "score", "reasons",
               "status", "source", "reminders_sent", "created_at", "updated_at"]  # fmt: skip
    raw = await (await session.connection()).get_raw_connection()
    await raw.driver_connection.copy_records_to_table("tasks", records=rows, columns=columns)  # type: ignore[union-attr]
    return len(rows)


async def _write_blockers(session: AsyncSession, clock: Clock) -> int:
    now = clock.now()
    reps = (
        await session.execute(select(User.id, User.org_unit_id).where(User.role == "rep").order_by(User.id))
    ).all()
    count = 0
    for index, (rep_id, unit_id) in enumerate(reps):
        if index % 5 == 0:
            customer = await session.scalar(
                select(Customer.id).where(Customer.owner_rep_id == rep_id).limit(1)
            )
            session.add(Promise(customer_id=customer, rep_id=rep_id, text="Send the quote", due_on=now.date() - timedelta(3),
                                status="open", created_at=now))  # fmt: skip
            count += 1
        if index % 7 == 0:
            session.add(Escalation(rule="pace_revenue", subject_type="user", subject_id=rep_id, org_unit_id=unit_id,
                                   severity="orange", level=2, state="open", dedup_key=f"bench:{rep_id}",
                                   opened_at=now, level_changed_at=now, last_seen_at=now, snapshot={}))  # fmt: skip
            count += 1
    await session.flush()
    return count


async def principal_for(session: AsyncSession, unit_id: UUID) -> Principal:
    """The unit's manager as a Principal (the board's usual caller)."""
    manager_id = await session.scalar(select(OrgUnit.manager_user_id).where(OrgUnit.id == unit_id))
    user = await session.get_one(User, manager_id)
    return Principal(user.id, user.email, user.name, user.role, user.org_unit_id, user.timezone, None)


async def main(database_url: str, at: datetime, runs: int) -> None:
    settings = Settings(DATABASE_URL=database_url, SCHEDULER=False, _env_file=None)  # type: ignore[call-arg]
    engine = create_engine(settings)
    statements = [0]
    event.listen(
        engine.sync_engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1)
    )
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    clock = Clock(fixed=at)
    async with sessionmaker() as session:
        team = (await session.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.timezone, OrgUnit.parent_id)
                                      .where(OrgUnit.kind == "team").order_by(OrgUnit.name).limit(1))).one()  # fmt: skip
        day = clock.local_date(team.timezone)
        monday = day - timedelta(days=day.weekday())
        setup = await prepare(session, settings, clock, day)
        await session.execute(text("ANALYZE"))
        counts = {
            name: await session.scalar(select(func.count()).select_from(model))
            for name, model in (("reps", User), ("customers", Customer), ("orders", Order), ("tasks", Task))
        }
        counts["reps"] = await session.scalar(
            select(func.count()).select_from(User).where(User.role == "rep")
        )
        figures = []
        for label, unit_id in (("board", team.id), ("review", team.parent_id)):
            access = await Scope.load(session, await principal_for(session, unit_id))
            reps = list(
                (
                    await session.scalars(
                        select(User.id).where(User.role == "rep", access.user_clause(User.id))
                    )
                ).all()
            )
            services = Services(session=session, settings=settings, clock=clock)

            async def service(
                unit_id: UUID = unit_id, access: Scope = access, label: str = label, ctx: Services = services
            ) -> Any:
                if label == "board":
                    return await ctx.get(StandupService).board(access, unit_id, day)
                return await ctx.get(ReviewsService).weekly(access, unit_id, monday)

            async def floor(reps: list[UUID] = reps) -> Any:
                query = (select(Order.rep_id, func.count(Order.id), func.sum(Order.amount))
                         .where(Order.rep_id.in_(reps), Order.ordered_on.between(month_start(day), day))
                         .group_by(Order.rep_id))  # fmt: skip
                return (await session.execute(query)).all()

            floor_times, _rows = await timed(runs, floor)
            before = statements[0]
            service_times, result = await timed(runs, service)
            per_run = (statements[0] - before) // (runs + 1)
            figures.append((label, len(reps), floor_times, service_times, per_run, result))
    await engine.dispose()

    print(json.dumps({**counts, "as_of": day.isoformat(), "setup": setup}))
    for label, reps, floor_times, service_times, per_run, result in figures:
        floor_median, service_median = statistics.median(floor_times), statistics.median(service_times)
        what = "stand-up board (team)" if label == "board" else "weekly review (region)"
        size = f"{len(result.cards)} cards" if label == "board" else f"{len(result.plan)} rows"
        print(f"{what:24}: {reps:4} reps, {size}, {per_run} statements per run")
        print(
            f"  floor  orders SUM/COUNT GROUP BY rep : median {floor_median * 1000:8.1f} ms (min {min(floor_times) * 1000:.1f})"
        )
        print(
            f"  service                              : median {service_median * 1000:8.1f} ms (min {min(service_times) * 1000:.1f})"
        )
        print(
            f"  ratio (median / median)              : {service_median / floor_median:.1f}x over {runs} runs"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="postgresql+asyncpg://... of a seeded database")
    parser.add_argument("--at", default="2026-11-18T02:00:00Z", help="'now' (the seed's --at)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(
        main(
            args.database_url,
            datetime.fromisoformat(args.at.replace("Z", "+00:00")).astimezone(UTC),
            args.runs,
        )
    )
