"""The demo world being built (ids from one seeded RNG, so output is deterministic) and the bulk
writers every seed step uses."""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

CHUNK = 5000


@dataclass
class SeedOptions:
    reps: int | None = None
    customers: int | None = None
    months: int = 12
    seed: int = 7
    reps_per_team: int | None = None
    year_growth: Decimal = Decimal("1.10")
    # The demo's users in China read Chinese; tests that read English pages turn this off.
    chinese_in_china: bool = True


@dataclass
class World:
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
    # Completed visits per rep in the trailing 91 days: visit targets are set from them.
    recent_visits_by_rep: dict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))
    # This month so far: the visits each rep made (id, customer, customer size — 0 for one that
    # does not buy — and local day), their month
    # revenue target, and their form (pace this month: 1.0 is exactly on plan).
    month_visits: dict[uuid.UUID, list[tuple[uuid.UUID, uuid.UUID, float, date]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    month_revenue_target: dict[uuid.UUID, Decimal] = field(default_factory=dict)
    form: dict[uuid.UUID, Decimal] = field(default_factory=dict)

    @property
    def month_start(self) -> date:
        return self.today.replace(day=1)

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


async def bulk_insert(
    connection: AsyncConnection, table: Table | Any, rows: list[dict[str, Any]], now: datetime
) -> None:
    """INSERT in chunks; COPY on PostgreSQL for large batches (stamped with the seed's clock)."""
    if not rows:
        return
    if connection.dialect.name == "postgresql" and len(rows) >= 1000:
        await _copy(connection, table, rows, now)
        return
    for offset in range(0, len(rows), CHUNK):
        await connection.execute(insert(table), rows[offset : offset + CHUNK])


async def _copy(
    connection: AsyncConnection, table: Table, rows: list[dict[str, Any]], stamp: datetime
) -> None:
    """PostgreSQL COPY through asyncpg: ~10x faster than batched INSERT for history rows."""
    if "created_at" in table.c and "created_at" not in rows[0]:
        rows = [{**row, "created_at": stamp, "updated_at": stamp} for row in rows]
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON) or "JSON" in str(c.type)}
    records = [tuple(json.dumps(row[c]) if c in json_columns else row[c] for c in columns) for row in rows]
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None, "COPY needs the asyncpg connection"
    await driver.copy_records_to_table(table.name, records=records, columns=columns)


def progress_bar(enabled: bool, total: int) -> Any:
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
