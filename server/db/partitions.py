"""PostgreSQL native partitioning by month of the ever-growing tables (docs/scale.md).

Behind the engine seam: on SQLite everything here is a no-op. Partitioned (by the migration
scale_0004): escalation_events, by `at`. Why orders, checkins, tasks and notifications are not
(yet) partitioned is written down in docs/scale.md: each has a unique key that must stay unique
across all months (an idempotency key, or the target of a foreign key), and PostgreSQL only
enforces uniqueness on a partitioned table when the key includes the partition column.

Months are created ahead by `ensure_partitions` (the daily `partitions` job and
`fieldsales partitions`); a DEFAULT partition catches anything outside them, so an insert never
fails for want of a partition, and a month found there is moved into its own partition when that
partition is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class MonthlyTable:
    name: str
    column: str  # the partition key: a timestamptz or date column


PARTITIONED = (MonthlyTable("escalation_events", "at"),)
MONTHS_AHEAD = 3


def is_partition_name(name: str) -> bool:
    return any(re.fullmatch(rf"{t.name}_(y\d{{4}}m\d{{2}}|default)", name) for t in PARTITIONED)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


async def is_partitioned(connection: AsyncConnection, table: str) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    kind = await connection.scalar(
        text("SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass(:table)"), {"table": table}
    )
    return kind == "p"


async def ensure_partitions(
    connection: AsyncConnection, today: date, months_ahead: int = MONTHS_AHEAD
) -> list[str]:
    """Create the monthly partitions from this month to `months_ahead` months on, for every
    partitioned table; return the names created (none on SQLite or when all exist)."""
    created: list[str] = []
    for table in PARTITIONED:
        if not await is_partitioned(connection, table.name):
            continue
        first = today.replace(day=1)
        for offset in range(months_ahead + 1):
            month = add_months(first, offset)
            if await create_month(connection, table, month):
                created.append(partition_name(table.name, month))
    return created


async def create_month(connection: AsyncConnection, table: MonthlyTable, month: date) -> bool:
    """The month's partition, taking over any rows of that month the DEFAULT partition holds."""
    name = partition_name(table.name, month)
    exists = await connection.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name})
    if exists:
        return False
    # Bounds in UTC whatever the session's time zone (the key is a timestamptz).
    start, end = f"{month.isoformat()} 00:00:00+00", f"{add_months(month, 1).isoformat()} 00:00:00+00"
    in_month = f"{table.column} >= '{start}' AND {table.column} < '{end}'"
    default = f"{table.name}_default"
    await connection.execute(text(f"CREATE TABLE {name} (LIKE {table.name} INCLUDING DEFAULTS)"))
    await connection.execute(text(f"INSERT INTO {name} SELECT * FROM {default} WHERE {in_month}"))
    await connection.execute(text(f"DELETE FROM {default} WHERE {in_month}"))
    await connection.execute(
        text(f"ALTER TABLE {table.name} ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')")
    )
    return True
