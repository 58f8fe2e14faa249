"""Deterministic demo organisation with history: `fieldsales seed-demo` and `make run`.

Bulk inserts in chunks, so 1,000 reps / 100,000 customers / 1,000,000 orders load in minutes.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.clock import Clock, system_clock
from server.config import Settings
from server.db.models import (
    Checkin,
    Customer,
    Order,
    OrgSettings,
    OrgUnit,
    Target,
    User,
    VisitPolicy,
)
from server.domain.breakdown import shares_from_actuals, split_amount, split_grid, split_period
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.services.auth.accounts import hash_password

DEMO_PASSWORD = "fieldsales-demo"
DEMO_LOGINS = (
    "admin@demo.example",
    "exec@demo.example",
    "manager1@demo.example",
    "rep1@demo.example",
    "rep2@demo.example",
)
CHUNK = 5000

# Regions alternate between two continents so reps live in several time zones.
REGIONS = (
    ("East China", "Asia/Shanghai", 31.2304, 121.4737, "Shanghai"),
    ("US West", "America/Los_Angeles", 34.0522, -118.2437, "Los Angeles"),
    ("North China", "Asia/Shanghai", 39.9042, 116.4074, "Beijing"),
    ("US East", "America/New_York", 40.7128, -74.0060, "New York"),
    ("South China", "Asia/Shanghai", 23.1291, 113.2644, "Guangzhou"),
    ("US Central", "America/Chicago", 41.8781, -87.6298, "Chicago"),
)
NAME_PARTS = (
    (
        "Golden",
        "Bright",
        "Pacific",
        "Summit",
        "Harbor",
        "Jade",
        "Silver",
        "Eastern",
        "Western",
        "Red",
        "Blue",
        "Green",
        "Lotus",
        "Pine",
        "River",
        "Lake",
        "Coastal",
        "Prime",
        "Union",
        "Star",
    ),
    (
        "Trading",
        "Foods",
        "Supplies",
        "Retail",
        "Pharmacy",
        "Hardware",
        "Electronics",
        "Market",
        "Wholesale",
        "Logistics",
        "Kitchen",
        "Garden",
        "Motors",
        "Textiles",
        "Print",
        "Office",
    ),
    ("Co.", "Ltd.", "Inc.", "Group", "Store", "Partners", "Depot", "Center"),
)


@dataclass
class SeedOptions:
    reps: int | None = None
    customers: int | None = None
    months: int = 12
    seed: int = 7
    reps_per_team: int | None = None
    year_growth: Decimal = Decimal("1.10")


@dataclass
class _World:
    rng: random.Random
    now: datetime
    today: date
    company_id: uuid.UUID = field(default_factory=uuid.uuid4)
    units: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    reps: list[dict[str, Any]] = field(default_factory=list)
    team_of_rep: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    region_of_team: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    revenue_by_rep: dict[uuid.UUID, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


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
    world = _World(rng=random.Random(options.seed), now=clock.now(), today=clock.now().date())
    password_hash = hash_password(DEMO_PASSWORD)  # one hash: every demo user shares the password
    _build_org(world, reps, options.reps_per_team or (3 if reps <= 24 else 8), password_hash)
    async with engine.begin() as connection:
        await _insert(connection, OrgUnit.__table__, world.units)
        await _insert(connection, User.__table__, world.users)
        await _insert(
            connection, OrgSettings.__table__, [{"id": world.uid(), "company_id": world.company_id}]
        )
        await _insert(
            connection,
            VisitPolicy.__table__,
            [
                {"id": world.uid(), "company_id": world.company_id, "grade": grade, "interval_days": days}
                for grade, days in DEFAULT_VISIT_INTERVALS.items()
            ],
        )
    counts = await _seed_customers_and_history(engine, world, customers, options, progress)
    async with engine.begin() as connection:
        counts["targets"] = await _seed_targets(connection, world, options)
    return {"reps": reps, **counts, "now": world.now.isoformat()}


def _build_org(world: _World, reps: int, reps_per_team: int, password_hash: str) -> None:
    rng = world.rng
    teams = max(2, math.ceil(reps / reps_per_team))
    region_count = min(len(REGIONS), max(2, math.ceil(teams / 4)))
    company_tz = "Asia/Shanghai"
    world.units.append(_unit(world.company_id, None, "Demo Trading Co.", "company", company_tz))
    admin = _user(
        world, "admin@demo.example", "Alex Admin", "admin", world.company_id, company_tz, password_hash
    )
    execu = _user(
        world, "exec@demo.example", "Erin Executive", "executive", world.company_id, company_tz, password_hash
    )
    world.users += [admin, execu]
    world.units[0]["manager_user_id"] = execu["id"]
    regions = []
    for index in range(region_count):
        name, tz, lat, lng, city = REGIONS[index]
        region_id = world.uid()
        director = _user(
            world,
            f"director{index + 1}@demo.example",
            f"Director {city}",
            "manager",
            region_id,
            tz,
            password_hash,
        )
        world.users.append(director)
        world.units.append(_unit(region_id, world.company_id, name, "region", tz, director["id"]))
        regions.append((region_id, tz, lat, lng, city))
    team_list = []
    for index in range(teams):
        region_id, tz, lat, lng, city = regions[index % region_count]
        team_id = world.uid()
        manager = _user(
            world,
            f"manager{index + 1}@demo.example",
            f"Manager {index + 1} ({city})",
            "manager",
            team_id,
            tz,
            password_hash,
        )
        world.users.append(manager)
        number = index // region_count + 1
        world.units.append(_unit(team_id, region_id, f"{city} Team {number}", "team", tz, manager["id"]))
        world.region_of_team[team_id] = region_id
        # Each team works its own district of the city.
        angle = rng.uniform(0, 2 * math.pi)
        center = (
            lat + 0.12 * math.sin(angle) * (number - 1 > 0),
            lng + 0.12 * math.cos(angle) * (number - 1 > 0),
        )
        team_list.append((team_id, tz, center))
    for index in range(reps):
        team_id, tz, (clat, clng) = team_list[index % teams]  # rep1 -> team 1, rep2 -> team 2
        rep = _user(
            world, f"rep{index + 1}@demo.example", f"Rep {index + 1}", "rep", team_id, tz, password_hash
        )
        rep["start_lat"] = round(clat + rng.gauss(0, 0.03), 6)
        rep["start_lng"] = round(clng + rng.gauss(0, 0.03), 6)
        world.users.append(rep)
        world.reps.append(rep)
        world.team_of_rep[rep["id"]] = team_id


def _unit(
    uid: uuid.UUID, parent: uuid.UUID | None, name: str, kind: str, tz: str, manager: uuid.UUID | None = None
) -> dict[str, Any]:
    return {
        "id": uid,
        "parent_id": parent,
        "name": name,
        "kind": kind,
        "timezone": tz,
        "manager_user_id": manager,
        "external_ref": None,
    }


def _user(
    world: _World, email: str, name: str, role: str, unit: uuid.UUID, tz: str, password_hash: str
) -> dict[str, Any]:
    return {
        "id": world.uid(),
        "email": email,
        "name": name,
        "role": role,
        "org_unit_id": unit,
        "timezone": tz,
        "start_lat": None,
        "start_lng": None,
        "daily_capacity": 8,
        "locale": None,
        "password_hash": password_hash,
        "active": True,
    }


async def _seed_customers_and_history(
    engine: AsyncEngine, world: _World, customers: int, options: SeedOptions, progress: bool
) -> dict[str, int]:
    rng = world.rng
    history_days = options.months * 30
    per_rep = [
        customers // len(world.reps) + (1 if i < customers % len(world.reps) else 0)
        for i in range(len(world.reps))
    ]
    totals = {"customers": 0, "orders": 0, "visits": 0}
    bar = _progress(progress, customers)
    serial = 0
    for rep, count in zip(world.reps, per_rep, strict=True):
        tz = ZoneInfo(rep["timezone"])
        cust_rows, order_rows, visit_rows = [], [], []
        for _ in range(count):
            serial += 1
            customer_id = world.uid()
            # Pareto-shaped size: a few big accounts carry most of the revenue.
            size = min(rng.paretovariate(1.16), 400.0)
            roll = rng.random()
            status = "prospect" if roll < 0.08 else "active"
            dormant = status == "active" and roll < 0.16
            lat = round(rep["start_lat"] + rng.gauss(0, 0.04), 6)
            lng = round(rep["start_lng"] + rng.gauss(0, 0.04), 6)
            name = " ".join(rng.choice(part) for part in NAME_PARTS)
            orders_expected = (
                0.0 if status == "prospect" or dormant else min(60.0, 6.2 * size**0.6) * options.months / 12
            )
            n_orders = int(orders_expected + rng.random())
            visit_every = 7 if size > 8 else 14 if size > 3 else 30 if size > 1.5 else 60
            n_visits = 0 if status == "prospect" else max(1, history_days // visit_every - rng.randint(0, 2))
            visit_days = sorted({rng.randint(1, history_days) for _ in range(n_visits)})
            last_visit = None
            for days_ago in visit_days:
                local_day = world.today - timedelta(days=days_ago)
                at = datetime.combine(
                    local_day, time(9 + rng.randint(0, 8), rng.randint(0, 59)), tz
                ).astimezone(UTC)
                checkin_id = world.uid()
                visit_rows.append(
                    {
                        "id": checkin_id,
                        "rep_id": rep["id"],
                        "customer_id": customer_id,
                        "task_id": None,
                        "checked_in_at": at,
                        "received_at": at,
                        "lat": lat,
                        "lng": lng,
                        "accuracy_m": 15.0,
                        "distance_m": round(abs(rng.gauss(0, 40)), 1),
                        "geo_status": "verified",
                        "flags": [],
                        "request_hash": "seed",
                        "checked_out_at": at + timedelta(minutes=rng.randint(15, 50)),
                        "checkout_received_at": at + timedelta(minutes=50),
                        "checkout_hash": "seed",
                        "outcome": rng.choice(("follow_up", "no_decision", "order")),
                        "order_amount": None,
                        "notes": None,
                        "next_step": None,
                        "next_step_due": None,
                        "extra": {},
                    }
                )
                last_visit = local_day if last_visit is None or local_day > last_visit else last_visit
            last_order = None
            revenue = Decimal(0)
            for _ in range(n_orders):
                days_ago = rng.randint(1, history_days)
                ordered_on = world.today - timedelta(days=days_ago)
                amount = Decimal(str(round(max(40.0, rng.gauss(1.0, 0.35) * 300 * size**0.55), 2)))
                order_rows.append(
                    {
                        "id": world.uid(),
                        "external_ref": None,
                        "customer_id": customer_id,
                        "rep_id": rep["id"],
                        "amount": amount,
                        "currency": "USD",
                        "ordered_on": ordered_on,
                        "source": "import",
                        "checkin_id": None,
                        "created_at": world.now,
                    }
                )
                if ordered_on >= world.today - timedelta(days=365):
                    revenue += amount
                last_order = ordered_on if last_order is None or ordered_on > last_order else last_order
            world.revenue_by_rep[rep["id"]] += revenue
            cust_rows.append(
                {
                    "id": customer_id,
                    "external_ref": f"C{serial:07d}",
                    "name": f"{name} #{serial}",
                    "owner_rep_id": rep["id"],
                    "org_unit_id": world.team_of_rep[rep["id"]],
                    "address": f"{rng.randint(1, 999)} Demo Road",
                    "lat": lat,
                    "lng": lng,
                    "status": status,
                    "grade": "D",
                    "last_visit_on": last_visit,
                    "last_order_on": last_order,
                    "potential": Decimal(str(round(size * 4000, 2))),
                }
            )
        async with engine.begin() as connection:
            await _insert(connection, Customer.__table__, cust_rows)
            await _insert(connection, Checkin.__table__, visit_rows)
            await _insert(connection, Order.__table__, order_rows)
        totals["customers"] += len(cust_rows)
        totals["orders"] += len(order_rows)
        totals["visits"] += len(visit_rows)
        if bar:
            bar.advance(bar.task_ids[0], len(cust_rows))
    if bar:
        bar.stop()
    return totals


async def _seed_targets(connection: AsyncConnection, world: _World, options: SeedOptions) -> int:
    """This year's approved revenue plan, top-down: company -> region -> team -> rep, year -> month."""
    year = world.today.year
    start, end = date(year, 1, 1), date(year, 12, 31)
    rows: list[dict[str, Any]] = []
    team_revenue: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for rep_id, revenue in world.revenue_by_rep.items():
        team_revenue[world.team_of_rep[rep_id]] += revenue
    region_revenue: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for team_id, revenue in team_revenue.items():
        region_revenue[world.region_of_team[team_id]] += revenue
    # Annualise a shorter history so monthly targets stay realistic with --months < 12.
    history_months = Decimal(max(1, min(options.months, 12)))
    annual = sum(region_revenue.values(), Decimal(0)) * Decimal(12) / history_months
    company_amount = (annual * options.year_growth).quantize(Decimal("1000"))
    company_amount = max(company_amount, Decimal("1000"))

    months = [(part.start, part.end) for part in split_period(company_amount, start, end, "month")]

    def add(
        scope: str, scope_id: uuid.UUID, amount: Decimal, monthly: list[Decimal], parent: uuid.UUID | None
    ) -> uuid.UUID:
        target_id = world.uid()
        rows.append(_target(target_id, scope, scope_id, "revenue", start, end, "year", amount, parent, world))
        for (month_start, month_end), month_amount in zip(months, monthly, strict=True):
            rows.append(
                _target(world.uid(), scope, scope_id, "revenue", month_start, month_end, "month",
                        month_amount, target_id, world)
            )  # fmt: skip
        return target_id

    def below(
        amounts: dict[uuid.UUID, Decimal], parent_months: list[Decimal]
    ) -> dict[uuid.UUID, list[Decimal]]:
        # The children's months under the parent's: every rep's months sum to the rep's year and
        # every month's reps to the team's month (the plan invariant, docs/plans.md).
        grid = split_grid(amounts, dict(enumerate(parent_months)))
        return {child: [grid[child][i] for i in range(len(months))] for child in amounts}

    company_months = [p.amount for p in split_period(company_amount, start, end, "month")]
    company_target = add("org_unit", world.company_id, company_amount, company_months, None)
    region_amounts = split_amount(company_amount, shares_from_actuals(region_revenue))
    region_months = below(region_amounts, company_months)
    for region_id, region_amount in region_amounts.items():
        region_target = add("org_unit", region_id, region_amount, region_months[region_id], company_target)
        teams = {t: team_revenue[t] for t, r in world.region_of_team.items() if r == region_id}
        team_amounts = split_amount(region_amount, shares_from_actuals(teams))
        team_months = below(team_amounts, region_months[region_id])
        for team_id, team_amount in team_amounts.items():
            team_target = add("org_unit", team_id, team_amount, team_months[team_id], region_target)
            reps = {r: world.revenue_by_rep[r] for r, t in world.team_of_rep.items() if t == team_id}
            rep_amounts = split_amount(team_amount, shares_from_actuals(reps))
            rep_months = below(rep_amounts, team_months[team_id])
            for rep_id, rep_amount in rep_amounts.items():
                add("user", rep_id, rep_amount, rep_months[rep_id], team_target)
    # Visit targets per rep per month: about six visits a working day.
    for rep in world.reps:
        visit_months = split_period(Decimal(6 * 250), start, end, "month")
        whole = split_amount(Decimal(6 * 250), {p.start: p.amount for p in visit_months}, 0)
        for part in visit_months:
            rows.append(
                _target(
                    world.uid(),
                    "user",
                    rep["id"],
                    "visits",
                    part.start,
                    part.end,
                    "month",
                    whole[part.start],
                    None,
                    world,
                )
            )
    await _insert(connection, Target.__table__, rows)
    return len(rows)


def _target(
    target_id: uuid.UUID,
    scope: str,
    scope_id: uuid.UUID,
    metric: str,
    start: date,
    end: date,
    granularity: str,
    amount: Decimal,
    parent: uuid.UUID | None,
    world: _World,
) -> dict[str, Any]:
    return {
        "id": target_id,
        "scope": scope,
        "scope_id": scope_id,
        "metric": metric,
        "period_start": start,
        "period_end": end,
        "granularity": granularity,
        "amount": amount,
        "baseline_amount": amount,
        "parent_id": parent,
        "weights": None,
        "distribution_id": None,
        "status": "approved",
        "version": 1,
        "approved_at": world.now,
        "created_at": world.now,
        "updated_at": world.now,
        "external_ref": None,
    }


async def _insert(connection: AsyncConnection, table: Table | Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if connection.dialect.name == "postgresql" and len(rows) >= 1000:
        await _copy(connection, table, rows)
        return
    for offset in range(0, len(rows), CHUNK):
        await connection.execute(insert(table), rows[offset : offset + CHUNK])


async def _copy(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY through asyncpg: ~10x faster than batched INSERT for history rows."""
    if "created_at" in table.c and "created_at" not in rows[0]:
        stamp = datetime.now(UTC)
        rows = [{**row, "created_at": stamp, "updated_at": stamp} for row in rows]
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON) or "JSON" in str(c.type)}
    records = [tuple(json.dumps(row[c]) if c in json_columns else row[c] for c in columns) for row in rows]
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # a live asyncpg connection
    await driver.copy_records_to_table(table.name, records=records, columns=columns)


def _progress(enabled: bool, total: int) -> Any:
    if not enabled or total < 5000:
        return None
    from rich.progress import BarColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        "{task.completed}/{task.total}",
        TimeRemainingColumn(),
    )
    bar.add_task("customers", total=total)
    bar.start()
    return bar
