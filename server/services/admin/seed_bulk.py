"""The demo's customers and history generated inside PostgreSQL, for sizes where a row at a time
in Python is the bottleneck (`seed-demo --reps 10000 --customers 1000000`: ~10M orders, ~13M
visits). Same shapes as seed_history.py — Pareto customer sizes, visits on the cadence of the
grade the expected revenue earns, ~70% of orders taken at a visit, the rest phoned in — drawn by
SQL (`setseed` + `random()`, ids from md5 of the seed and a serial), in chunks of customers, so no
Python touches a history row. Deterministic for a seed, but not the same random stream as the
Python path: the small demo and the simulation keep that one (seed_history.py).

What Python still gets back is per rep (revenue and recent visits for the targets) and this
month's visits (for this month's orders, seed_month.py), the same World fields the Python path
fills.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.actuals_rollup import rebuild_statements
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.services.admin.seed_history import CONTACTS, ORDER_AT_VISIT, OTHER_OUTCOMES, RECENT_DAYS
from server.services.admin.seed_org import NAME_PARTS
from server.services.admin.seed_world import SeedOptions, World, progress_bar

log = structlog.get_logger()

BULK_FROM = 200_000  # customers: from here on PostgreSQL generates the history itself
CHUNK = 50_000  # customers per round trip
# Connections generating chunks side by side: PostgreSQL runs each INSERT ... SELECT on one core,
# so one connection leaves the machine's other core idle for most of the load.
WORKERS = 2
# Shared by the workers' sessions (a temp table is one session's): dropped at the end.
_SHARED_TABLES = "seed_profile, seed_reps"

# Each customer's draw: Pareto size, status, how many orders a year, the cadence its expected
# revenue earns (Pareto ABC over every customer, as grading later does: classify_abc's SQL).
_PROFILES = """
CREATE UNLOGGED TABLE seed_profile AS
WITH drawn AS (
    SELECT s AS serial, least(400.0, power(1.0 - random(), -1.0 / 1.16)) AS size, random() AS roll
    FROM generate_series(1, $1::int) s
), shaped AS (
    SELECT serial, size,
           CASE WHEN roll < 0.08 THEN 'prospect' ELSE 'active' END AS status,
           roll >= 0.08 AND roll < 0.16 AS dormant,
           CASE WHEN roll < 0.16 THEN 0.0 ELSE least(60.0, 6.2 * power(size, 0.6)) * $2::int / 12.0 END
               AS orders_expected
    FROM drawn
), valued AS (
    SELECT *, round((orders_expected * 300 * power(size, 0.55))::numeric, 2) AS expected FROM shaped
), ranked AS (
    SELECT serial, SUM(expected) OVER (ORDER BY expected DESC)
               - SUM(expected) OVER (PARTITION BY expected) AS richer,
           SUM(expected) OVER () AS total
    FROM valued WHERE expected > 0
)
SELECT v.serial, v.size, v.status, v.dormant, v.orders_expected,
       CASE WHEN r.serial IS NULL THEN $6::int WHEN r.richer < 0.80 * r.total THEN $3::int
            WHEN r.richer < 0.95 * r.total THEN $4::int ELSE $5::int END AS every
FROM valued v LEFT JOIN ranked r USING (serial)
"""

# Customers of one chunk: which rep (contiguous serial ranges, as the Python path deals them),
# where, and how many visits and orders.
_CHUNK_CUSTOMERS = """
CREATE TEMP TABLE seed_c AS
SELECT p.serial, md5('c' || $3::text || '-' || p.serial)::uuid AS id, r.rep_idx, r.rep_id, r.team_id, r.tz,
       round((r.lat + 0.04 * sqrt(-2 * ln(1.0 - random())) * cos(2 * pi() * random()))::numeric, 6)::float8
           AS lat,
       round((r.lng + 0.04 * sqrt(-2 * ln(1.0 - random())) * cos(2 * pi() * random()))::numeric, 6)::float8
           AS lng,
       p.size, p.status, p.dormant, p.every,
       floor(p.orders_expected + random())::int AS n_orders,
       CASE WHEN p.status = 'prospect' THEN 0
            ELSE greatest(1, $4::int / p.every - floor(random() * 3)::int) END AS n_visits,
       1 + floor(random() * (p.every + greatest(1, p.every / 4)))::int AS first_visit
FROM seed_profile p
JOIN seed_reps r ON r.rep_idx = CASE
    WHEN p.serial - 1 < $5::int * ($6::int + 1) THEN (p.serial - 1) / ($6::int + 1)
    ELSE $5::int + (p.serial - 1 - $5::int * ($6::int + 1)) / $6::int END
WHERE p.serial BETWEEN $1::int AND $2::int
"""

# Visits on the cadence, a day early or late, a few missed. Those before this month come first in
# `vrank` (in random order), so order k is taken at visit k when that one is from an earlier month.
_CHUNK_VISITS = """
CREATE TEMP TABLE seed_v AS
SELECT md5('v' || $3::text || '-' || c.serial || '-' || d.days_ago)::uuid AS id, c.serial, c.id AS customer_id,
       c.rep_id, c.lat, c.lng, d.days_ago, d.vrank,
       (($1::date - d.days_ago)::timestamp
           + make_interval(hours => 9 + floor(random() * 9)::int, mins => floor(random() * 60)::int))
           AT TIME ZONE c.tz AS at
FROM seed_c c
CROSS JOIN LATERAL (
    SELECT days_ago, row_number() OVER (ORDER BY days_ago <= $2::int, random()) AS vrank
    FROM (
        SELECT days_ago FROM (
            SELECT DISTINCT least($4::int, greatest(1, g + floor(random() * 3)::int - 1)) AS days_ago
            FROM generate_series(c.first_visit, $4::int, c.every) g
        ) cadence ORDER BY random() LIMIT c.n_visits
    ) kept
) d
WHERE c.n_visits > 0
"""

_CHUNK_ORDERS = """
CREATE TEMP TABLE seed_o AS
SELECT md5('o' || $3::text || '-' || o.serial || '-' || o.k)::uuid AS id, o.customer_id, o.rep_id,
       o.amount, v.id AS checkin_id,
       coalesce((v.at AT TIME ZONE o.tz)::date, $1::date - o.days_ago) AS ordered_on
FROM (
    SELECT c.serial, c.id AS customer_id, c.rep_id, c.tz, k,
           round(greatest(40.0, (1.0 + 0.35 * sqrt(-2 * ln(1.0 - random())) * cos(2 * pi() * random()))
                                * 300 * power(c.size, 0.55))::numeric, 2) AS amount,
           random() < $5::float8 AS at_visit,
           least($2::int + 1, $4::int) + floor(random() * ($4::int - least($2::int + 1, $4::int) + 1))::int
               AS days_ago
    FROM seed_c c CROSS JOIN LATERAL generate_series(1, c.n_orders) k
) o
LEFT JOIN seed_v v ON o.at_visit AND v.serial = o.serial AND v.vrank = o.k AND v.days_ago > $2::int
"""

_INSERT_CUSTOMERS = """
INSERT INTO customers (id, external_ref, name, owner_rep_id, org_unit_id, address, lat, lng, status,
    contact_name, contact_phone, grade, last_visit_on, last_order_on, potential, created_at, updated_at)
SELECT c.id, 'C' || lpad(c.serial::text, 7, '0'),
       ($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int] || ' '
           || ($4::text[])[1 + floor(random() * array_length($4::text[], 1))::int] || ' '
           || ($6::text[])[1 + floor(random() * array_length($6::text[], 1))::int] || ' #' || c.serial,
       c.rep_id, c.team_id, (1 + floor(random() * 999)::int) || ' Demo Road', c.lat, c.lng, c.status,
       ($5::text[])[1 + c.serial % array_length($5::text[], 1)], '+1 555 01' || lpad((c.serial % 100)::text, 2, '0'),
       'D', $1::date - lv.days_ago, lo.ordered_on, round((c.size * 4000)::numeric, 2), $2::timestamptz, $2::timestamptz
FROM seed_c c
LEFT JOIN (SELECT serial, min(days_ago) AS days_ago FROM seed_v GROUP BY serial) lv USING (serial)
LEFT JOIN (SELECT customer_id, max(ordered_on) AS ordered_on FROM seed_o GROUP BY customer_id) lo
    ON lo.customer_id = c.id
ORDER BY c.id
"""

_INSERT_VISITS = """
INSERT INTO checkins (id, rep_id, customer_id, checked_in_at, received_at, lat, lng, accuracy_m, distance_m,
    geo_status, flags, request_hash, checked_out_at, checkout_received_at, checkout_hash, outcome,
    order_amount, extra)
SELECT v.id, v.rep_id, v.customer_id, v.at, v.at, v.lat, v.lng, 15.0,
       round(abs(40 * sqrt(-2 * ln(1.0 - random())) * cos(2 * pi() * random()))::numeric, 1)::float8,
       'verified', '[]'::jsonb, 'seed', v.at + make_interval(mins => 15 + floor(random() * 36)::int),
       v.at + interval '50 minutes', 'seed',
       CASE WHEN o.id IS NOT NULL THEN 'order'
            ELSE ($1::text[])[1 + floor(random() * array_length($1::text[], 1))::int] END,
       o.amount, '{}'::jsonb
FROM seed_v v LEFT JOIN seed_o o ON o.checkin_id = v.id
ORDER BY v.id
"""

_INSERT_ORDERS = """
INSERT INTO orders (id, customer_id, rep_id, amount, currency, ordered_on, source, checkin_id, created_at,
    amount_confirmed)
SELECT id, customer_id, rep_id, amount, 'USD', ordered_on,
       CASE WHEN checkin_id IS NULL THEN 'import' ELSE 'checkin' END, checkin_id, $1::timestamptz, false
FROM seed_o ORDER BY id
"""


def use_bulk(engine: AsyncEngine, customers: int, options: SeedOptions) -> bool:
    if options.bulk is not None:
        return options.bulk and engine.dialect.name == "postgresql"
    return engine.dialect.name == "postgresql" and customers >= BULK_FROM


def _dsn(engine: AsyncEngine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class _Chunk:
    """What one chunk of customers gives back: its counts and the per-rep figures (_collect)."""

    counts: dict[str, int]
    revenue: dict[int, Decimal]
    recent_visits: dict[int, int]
    month: list[tuple[uuid.UUID, tuple[uuid.UUID, uuid.UUID, float, Any]]]


def _chunk_seed(seed: int, index: int) -> float:
    """Each chunk draws from its own seeded stream, so the history does not depend on which
    worker ran which chunk, or in what order."""
    return ((seed % 1000) / 1000.0 + index * 0.6180339887498949) % 1.0


async def _session(dsn: str, replica: bool) -> asyncpg.Connection:
    connection = await asyncpg.connect(dsn)
    await connection.execute("SET temp_buffers = '512MB'")
    await connection.execute("SET work_mem = '64MB'")
    await connection.execute("SET maintenance_work_mem = '256MB'")
    if replica:
        await connection.execute("SET session_replication_role = replica")
    return connection


async def seed_history_in_database(
    engine: AsyncEngine, world: World, customers: int, options: SeedOptions, progress: bool
) -> dict[str, int]:
    history_days = options.months * 30
    this_month = (world.today - world.month_start).days
    reps = len(world.reps)
    base, extra = divmod(customers, reps)
    seed = str(options.seed)
    dsn = _dsn(engine)
    connection = await _session(dsn, replica=False)
    bar = progress_bar(progress, customers)
    spent: dict[str, float] = defaultdict(float)
    chunks: dict[int, _Chunk] = {}
    try:
        foreign_keys_off = await _foreign_keys_off(connection)
        indexes = await _drop_secondary_indexes(connection)
        await connection.execute(f"DROP TABLE IF EXISTS {_SHARED_TABLES}")  # a crashed run's
        await connection.execute("SELECT setseed($1::float8)", ((options.seed % 1000) / 1000.0))
        await connection.execute(
            "CREATE UNLOGGED TABLE seed_reps (rep_idx int PRIMARY KEY, rep_id uuid, team_id uuid,"
            " tz text, lat float8, lng float8)"
        )
        await connection.copy_records_to_table(
            "seed_reps",
            records=[
                (i, r["id"], world.team_of_rep[r["id"]], r["timezone"], r["start_lat"], r["start_lng"])
                for i, r in enumerate(world.reps)
            ],
        )
        await connection.execute(
            _PROFILES,
            customers,
            options.months,
            *(DEFAULT_VISIT_INTERVALS[g] for g in "ABCD"),
        )
        pending = iter(enumerate(range(1, customers + 1, CHUNK)))  # shared: next free chunk

        async def work() -> None:
            session = await _session(dsn, replica=foreign_keys_off)
            try:
                for index, low in pending:
                    high = min(customers, low + CHUNK - 1)
                    async with session.transaction():
                        await session.execute("SELECT setseed($1::float8)", _chunk_seed(options.seed, index))
                        run = _Timed(session, spent)
                        await run("customers", _CHUNK_CUSTOMERS, low, high, seed, history_days, extra, base)
                        await run("visits", _CHUNK_VISITS, world.today, this_month, seed, history_days)
                        await run(
                            "orders",
                            _CHUNK_ORDERS,
                            world.today,
                            this_month,
                            seed,
                            history_days,
                            ORDER_AT_VISIT,
                        )
                        await run("analyze", "ANALYZE seed_v; ANALYZE seed_o")
                        await run(
                            "insert customers",
                            _INSERT_CUSTOMERS,
                            world.today,
                            world.now,
                            list(NAME_PARTS[0]),
                            list(NAME_PARTS[1]),
                            list(CONTACTS),
                            list(NAME_PARTS[2]),
                        )
                        await run("insert checkins", _INSERT_VISITS, list(OTHER_OUTCOMES))
                        await run("insert orders", _INSERT_ORDERS, world.now)
                        started = time.perf_counter()
                        chunks[index] = await _collect(session, world, this_month)
                        spent["collect"] += time.perf_counter() - started
                        await session.execute("DROP TABLE seed_c, seed_v, seed_o")
                    if bar:
                        bar.advance(bar.task_ids[0], chunks[index].counts["customers"])
            finally:
                await session.close()

        async with asyncio.TaskGroup() as workers:
            for _ in range(WORKERS):
                workers.create_task(work())
    finally:
        if bar:
            bar.stop()
        try:
            await connection.execute(f"DROP TABLE IF EXISTS {_SHARED_TABLES}")
            started = time.perf_counter()
            for definition in indexes:
                await connection.execute(definition)
            spent["build indexes"] += time.perf_counter() - started
            if foreign_keys_off:
                await connection.execute("SET session_replication_role = DEFAULT")
                # The replica role kept the rollup's triggers off too: count the history once.
                async with connection.transaction():
                    for statement in rebuild_statements("postgresql"):
                        await connection.execute(statement)
            await connection.execute("ANALYZE customers; ANALYZE checkins; ANALYZE orders")
        finally:
            await connection.close()
    log.info("seed history generated", workers=WORKERS, seconds={k: round(v, 1) for k, v in spent.items()})
    return _merge(world, [chunks[i] for i in sorted(chunks)])


def _merge(world: World, chunks: list[_Chunk]) -> dict[str, int]:
    """Into the World in chunk order, whichever worker finished first (month_visits is a list)."""
    by_idx = {i: r["id"] for i, r in enumerate(world.reps)}
    totals = {"customers": 0, "orders": 0, "visits": 0, "orders_at_visits": 0}
    for chunk in chunks:
        for key in totals:
            totals[key] += chunk.counts[key]
        for idx, revenue in chunk.revenue.items():
            world.revenue_by_rep[by_idx[idx]] += revenue
        for idx, n in chunk.recent_visits.items():
            world.recent_visits_by_rep[by_idx[idx]] += n
        for rep_id, visit in chunk.month:
            world.month_visits[rep_id].append(visit)
    return totals


async def _foreign_keys_off(connection: asyncpg.Connection) -> bool:
    """Skip the per-row foreign key checks while loading rows generated from the rows they point
    to (a fresh database; needs a superuser, else the checks stay on)."""
    try:
        await connection.execute("SET session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        return False
    return True


async def _drop_secondary_indexes(connection: asyncpg.Connection) -> list[str]:
    """Drop the history tables' plain indexes (not keys or unique constraints) for the load and
    return their definitions: building each once from sorted rows is far cheaper than keeping
    it up to date row by row."""
    rows = await connection.fetch(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema()"
        " AND i.tablename IN ('customers', 'checkins', 'orders')"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    )
    for row in rows:
        await connection.execute(f'DROP INDEX "{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


class _Timed:
    def __init__(self, connection: asyncpg.Connection, spent: dict[str, float]) -> None:
        self.connection, self.spent = connection, spent

    async def __call__(self, step: str, sql: str, *args: Any) -> None:
        started = time.perf_counter()
        await self.connection.execute(sql, *args)
        self.spent[step] += time.perf_counter() - started


async def _collect(connection: asyncpg.Connection, world: World, this_month: int) -> _Chunk:
    """The chunk's counts, the per-rep figures the targets are set from, and this month's visits
    (seed_month.py), by rep index; _merge adds them to the World."""
    year_ago = world.today - timedelta(days=365)
    counts = await connection.fetchrow(
        "SELECT (SELECT count(*) FROM seed_c) AS customers, (SELECT count(*) FROM seed_v) AS visits,"
        " (SELECT count(*) FROM seed_o) AS orders,"
        " (SELECT count(*) FROM seed_o WHERE checkin_id IS NOT NULL) AS orders_at_visits"
    )
    revenue = {
        row["rep_idx"]: Decimal(row["revenue"])
        for row in await connection.fetch(
            "SELECT c.rep_idx, sum(o.amount) AS revenue FROM seed_o o JOIN seed_c c ON c.id = o.customer_id"
            " WHERE o.ordered_on >= $1 GROUP BY c.rep_idx",
            year_ago,
        )
    }
    recent = {
        row["rep_idx"]: int(row["n"])
        for row in await connection.fetch(
            "SELECT c.rep_idx, count(*) AS n FROM seed_v v JOIN seed_c c USING (serial)"
            " WHERE v.days_ago <= $1 GROUP BY c.rep_idx",
            RECENT_DAYS,
        )
    }
    month = [
        (
            row["rep_id"],
            (row["id"], row["customer_id"], row["size"], world.today - timedelta(days=row["days_ago"])),
        )
        for row in await connection.fetch(
            "SELECT c.rep_id, v.id, v.customer_id, CASE WHEN c.status = 'active' AND NOT c.dormant"
            " THEN c.size ELSE 0.0 END AS size, v.days_ago FROM seed_v v JOIN seed_c c USING (serial)"
            " WHERE v.days_ago <= $1",
            this_month,
        )
    ]
    return _Chunk(dict(counts), revenue, recent, month)
