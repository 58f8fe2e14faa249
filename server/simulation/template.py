"""The simulation's starting point: its configuration, and the template database (migrated,
seeded with seed_demo and graded once) that every planner run copies."""

from __future__ import annotations

import time as timer
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.db.migrate import upgrade
from server.db.models import Customer, Order, OrgUnit, VisitPolicy
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.jobs.registry import run_job
from server.services.admin.seed import SeedOptions, seed_demo
from server.simulation.agents import (
    Rep,
    load_reps,
)
from server.simulation.database import create_sqlite_engine, sqlite_settings
from server.simulation.world import (
    DEFAULT_PARAMS,
    CustomerState,
    CustomerTruth,
    WorldParams,
    cycle_from_history,
    typical_amount,
)

PRODUCT = "ours"
PLANNERS = (PRODUCT, "most-overdue", "round-robin", "random")
DEFAULT_START = date(2026, 4, 1)  # Q2: 13 weeks from here are exactly April-June


@dataclass(frozen=True)
class SimulationConfig:
    weeks: int = 13
    reps: int = 50
    seed: int = 7
    start: date = DEFAULT_START
    customers: int | None = None  # default: the seed's 50 per rep
    params: WorldParams = DEFAULT_PARAMS
    inline_driver: bool = True  # aiosqlite without its worker thread (server.simulation.database)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=7 * self.weeks - 1)


@dataclass
class Template:
    """The seeded, graded starting database and what the world needs from it."""

    path: Path
    reps: list[Rep]
    company_tz: str
    intervals: dict[str, int]
    truths: list[CustomerTruth]
    states: dict[UUID, CustomerState]
    last_visit: dict[UUID, date]
    build_s: float = 0.0


async def build_template(config: SimulationConfig, workdir: Path) -> Template:
    """Migrate, seed (seed_demo with the config's seed) and grade once, the evening before day 1."""
    started = timer.perf_counter()
    path = workdir / "template.db"
    settings = sqlite_settings(path)
    engine = create_sqlite_engine(settings, config.inline_driver)
    try:
        await upgrade(engine)
        eve = datetime.combine(config.start - timedelta(days=1), datetime.min.time(), UTC)
        options = SeedOptions(reps=config.reps, customers=config.customers, seed=config.seed)
        await seed_demo(engine, settings, options, clock=Clock(fixed=eve + timedelta(hours=12)))
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        await run_job("grade-customers", sessionmaker, settings, eve + timedelta(hours=18, minutes=30))
        async with sessionmaker() as session:
            template = await _read_template(session, path, config)
        async with engine.begin() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()
    template.build_s = timer.perf_counter() - started
    return template


async def _read_template(session: AsyncSession, path: Path, config: SimulationConfig) -> Template:
    reps = await load_reps(session)
    company_tz = await session.scalar(select(OrgUnit.timezone).where(OrgUnit.parent_id.is_(None)))
    intervals = dict(DEFAULT_VISIT_INTERVALS)
    for grade, days in await session.execute(select(VisitPolicy.grade, VisitPolicy.interval_days)):
        intervals[grade] = days
    window_from = config.start - timedelta(days=365)
    amounts: dict[UUID, list[Decimal]] = defaultdict(list)
    for customer_id, amount in await session.execute(
        select(Order.customer_id, Order.amount)
        .where(Order.ordered_on >= window_from, Order.ordered_on < config.start)
        .order_by(Order.customer_id, Order.ordered_on, Order.amount)
    ):
        amounts[customer_id].append(Decimal(amount))
    truths, states, last_visit = [], {}, {}
    rows = await session.execute(
        select(
            Customer.id,
            Customer.owner_rep_id,
            Customer.grade,
            Customer.status,
            Customer.lat,
            Customer.lng,
            Customer.potential,
            Customer.last_visit_on,
            Customer.last_order_on,
        )
        .where(Customer.owner_rep_id.is_not(None), Customer.status.in_(("active", "prospect")))
        .order_by(Customer.id)
    )
    for cid, rep_id, grade, status, lat, lng, potential, last_visit_on, last_order_on in rows:
        assert rep_id is not None  # the query keeps owned customers only
        history = tuple(amounts.get(cid, ()))
        truths.append(
            CustomerTruth(
                id=cid,
                rep_id=rep_id,
                tier="prospect" if status == "prospect" else grade,
                cycle_days=cycle_from_history(len(history), config.params),
                amounts=history,
                typical_amount=typical_amount(potential),
                lat=lat,
                lng=lng,
            )
        )
        states[cid] = CustomerState(last_met=last_visit_on, last_order=last_order_on)
        if last_visit_on is not None:
            last_visit[cid] = last_visit_on
    return Template(path, reps, company_tz or "UTC", intervals, truths, states, last_visit)
