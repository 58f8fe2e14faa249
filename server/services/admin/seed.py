"""Deterministic demo organisation with history: `fieldsales seed-demo` and `make run`.

Bulk inserts in chunks, so 1,000 reps / 100,000 customers / 1,000,000 orders load in minutes.
The first start must look right: customers are graded by the real grading on the seeded
history, most orders are linked to the visit that took them, and targets are ones the seeded
history can meet (README "First start" describes the picture).
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from server.clock import Clock, system_clock
from server.config import Settings
from server.core.services import provide_services
from server.db.models import OrgSettings, OrgUnit, User, VisitPolicy
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.services.admin.seed_bulk import seed_history_in_database, use_bulk
from server.services.admin.seed_history import seed_customers_and_history
from server.services.admin.seed_month import deal_forms, seed_month_orders
from server.services.admin.seed_org import build_org
from server.services.admin.seed_pipeline import seed_pipeline
from server.services.admin.seed_targets import seed_targets
from server.services.admin.seed_world import SeedOptions, World, bulk_insert
from server.services.auth.accounts import hash_password
from server.services.customers.grading import GradingService

DEMO_PASSWORD = "fieldsales-demo"
DEMO_LOGINS = (
    "admin@demo.example",
    "exec@demo.example",
    "manager1@demo.example",
    "rep1@demo.example",
    "rep2@demo.example",
)


async def database_is_empty(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return not (await connection.scalar(select(func.count()).select_from(OrgUnit)))


async def seed_demo(
    engine: AsyncEngine,
    settings: Settings,
    options: SeedOptions | None = None,
    clock: Clock = system_clock,
    progress: bool = False,
) -> dict[str, Any]:
    """Create the demo company. Deterministic for a seed and a given `now`."""
    options = options or SeedOptions()
    reps = options.reps or 12
    customers = options.customers or reps * 50
    now = clock.now()
    world = World(rng=random.Random(options.seed), now=now, today=now.date())
    password_hash = hash_password(DEMO_PASSWORD)  # one hash: every demo user shares the password
    build_org(
        world,
        reps,
        options.reps_per_team or (3 if reps <= 24 else 8),
        password_hash,
        options.chinese_in_china,
    )
    async with engine.begin() as connection:
        await bulk_insert(connection, OrgUnit.__table__, world.units, now)
        await bulk_insert(connection, User.__table__, world.users, now)
        await bulk_insert(
            connection, OrgSettings.__table__, [{"id": world.uid(), "company_id": world.company_id}], now
        )
        await bulk_insert(
            connection,
            VisitPolicy.__table__,
            [
                {"id": world.uid(), "company_id": world.company_id, "grade": grade, "interval_days": days}
                for grade, days in DEFAULT_VISIT_INTERVALS.items()
            ],
            now,
        )
    if use_bulk(engine, customers, options):
        counts = await seed_history_in_database(engine, world, customers, options, progress)
    else:
        counts = await seed_customers_and_history(engine, world, customers, options, progress)
    deal_forms(world)
    async with engine.begin() as connection:
        counts["targets"] = await seed_targets(connection, world, options)
        counts["orders_this_month"] = await seed_month_orders(connection, world)
        counts["opportunities"] = await seed_pipeline(connection, world)
    counts["graded"] = await _grade(engine, settings, clock, world)
    if engine.dialect.name == "postgresql":
        # Statistics and the visibility map now, not when autovacuum gets to them: the first
        # sweeps on a fresh database otherwise plan nested loops over every order (a plan-day
        # input ran 14 minutes unanalysed), and index-only scans of check-ins visit the heap row
        # by row (the escalate sweep at 10,000 reps: 1.3 s before, 0.78 s after). ~22 s there.
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM (ANALYZE)")
    return {"reps": reps, **counts, "now": now.isoformat()}


async def _grade(engine: AsyncEngine, settings: Settings, clock: Clock, world: World) -> int:
    """Run the real nightly grading once, so no customer starts as "Not graded yet"."""
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with provide_services(sessionmaker, settings, clock) as services:
        today = clock.local_date(world.units[0]["timezone"])
        result = await services.get(GradingService).regrade_company(world.company_id, today)
    return result.changed
