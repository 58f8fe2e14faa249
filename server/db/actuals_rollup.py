"""The triggers that keep rep_day_actuals (server/db/models/actuals.py) equal to the raw rows.

Every write of orders and checkins — check-out, orders API, imports, corrections, seed, restore —
moves the rollup in the same transaction, so no write path needs to know about it:

- an order with a rep adds (amount, 1 order) to (rep_id, ordered_on); orders without a rep are
  not rolled up (rare: the actuals read those raw);
- a completed check-in (checked_out_at set) adds 1 visit to (rep_id, UTC date of checked_in_at);
- an UPDATE takes the old row's contribution off and adds the new one's; a DELETE takes it off.

PostgreSQL: statement-level triggers over transition tables, so a COPY or a multi-row INSERT
applies one aggregated upsert, in key order (concurrent writers lock rollup rows in one order),
instead of one per row. SQLite: row triggers with UPSERT. Rows whose figures fall to zero stay.
`rebuild` recomputes the whole rollup from the raw rows (after a load with triggers off).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_ORDERS_SET = "revenue = {t}.revenue + excluded.revenue, orders = {t}.orders + excluded.orders"
_VISITS_SET = "visits = {t}.visits + excluded.visits"


class _Source(NamedTuple):
    """What one source table feeds: one row's contribution as SQL over a row alias {r}."""

    pg_day: str
    sqlite_day: str
    revenue: str
    orders: str
    visits: str
    counts: str  # whether the row contributes at all
    set: str  # the upsert's SET, over the rollup's alias {t}
    watched: tuple[str, ...]  # the columns an UPDATE must change to move the rollup


_SOURCES = {
    "orders": _Source(
        "{r}.ordered_on",
        "{r}.ordered_on",
        "{r}.amount",
        "1",
        "0",
        "{r}.rep_id IS NOT NULL",
        _ORDERS_SET,
        ("rep_id", "amount", "ordered_on"),
    ),
    "checkins": _Source(
        "({r}.checked_in_at AT TIME ZONE 'UTC')::date",
        "date({r}.checked_in_at)",
        "0",
        "0",
        "1",
        "{r}.checked_out_at IS NOT NULL",
        _VISITS_SET,
        ("rep_id", "checked_in_at", "checked_out_at"),
    ),
}
_TRUNCATE = {
    "orders": "UPDATE rep_day_actuals SET revenue = 0, orders = 0 WHERE orders <> 0 OR revenue <> 0",
    "checkins": "UPDATE rep_day_actuals SET visits = 0 WHERE visits <> 0",
}


def _pg_upsert(table: str, parts: list[tuple[str, str]]) -> str:
    """One aggregated upsert of the contributions of transition tables (name, sign)."""
    src = _SOURCES[table]
    selects = " UNION ALL ".join(
        f"SELECT r.rep_id, {src.pg_day.format(r='r')} AS day, {sign}{src.revenue.format(r='r')} AS revenue,"
        f" {sign}{src.orders} AS orders, {sign}{src.visits} AS visits"
        f" FROM {rows} r WHERE {src.counts.format(r='r')}"
        for rows, sign in parts
    )
    return (
        "INSERT INTO rep_day_actuals AS a (rep_id, day, revenue, orders, visits)"
        " SELECT rep_id, day, sum(revenue), sum(orders), sum(visits)"
        f" FROM ({selects}) d WHERE rep_id IS NOT NULL GROUP BY rep_id, day"
        " HAVING sum(revenue) <> 0 OR sum(orders) <> 0 OR sum(visits) <> 0"
        f" ORDER BY rep_id, day ON CONFLICT (rep_id, day) DO UPDATE SET {src.set.format(t='a')}"
    )


def _pg_function(table: str) -> str:
    # plpgsql plans a statement when it first runs, so each branch names only the transition
    # tables its trigger declares.
    return f"""
CREATE OR REPLACE FUNCTION rep_day_actuals_from_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_pg_upsert(table, [("new_rows", "")])};
    ELSIF TG_OP = 'DELETE' THEN
        {_pg_upsert(table, [("old_rows", "-")])};
    ELSIF TG_OP = 'UPDATE' THEN
        {_pg_upsert(table, [("old_rows", "-"), ("new_rows", "")])};
    ELSE
        {_TRUNCATE[table]};
    END IF;
    RETURN NULL;
END $$"""


def _pg_statements(table: str) -> list[str]:
    name = f"rep_day_actuals_{table}"
    run = f"FOR EACH STATEMENT EXECUTE FUNCTION rep_day_actuals_from_{table}()"
    return [
        _pg_function(table),
        f"CREATE TRIGGER {name}_ins AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows {run}",
        f"CREATE TRIGGER {name}_upd AFTER UPDATE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {run}",
        f"CREATE TRIGGER {name}_del AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows {run}",
        f"CREATE TRIGGER {name}_trunc AFTER TRUNCATE ON {table} {run}",
    ]


def _sqlite_apply(table: str, row: str, sign: str) -> str:
    """One row's contribution (row = NEW or OLD), added with `sign`, as an UPSERT statement."""
    src = _SOURCES[table]
    return (
        "INSERT INTO rep_day_actuals (rep_id, day, revenue, orders, visits)"
        f" SELECT {row}.rep_id, {src.sqlite_day.format(r=row)}, {sign}{src.revenue.format(r=row)},"
        f" {sign}{src.orders}, {sign}{src.visits}"
        f" WHERE {src.counts.format(r=row)}"  # a WHERE also keeps UPSERT's ON parsed right
        f" ON CONFLICT (rep_id, day) DO UPDATE SET {src.set.format(t='rep_day_actuals')};"
    )


def _sqlite_statements(table: str) -> list[str]:
    src = _SOURCES[table]
    name = f"rep_day_actuals_{table}"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in src.watched)
    watched = ", ".join(src.watched)
    return [
        f"CREATE TRIGGER {name}_ins AFTER INSERT ON {table} BEGIN {_sqlite_apply(table, 'NEW', '')} END",
        f"CREATE TRIGGER {name}_del AFTER DELETE ON {table} BEGIN {_sqlite_apply(table, 'OLD', '-')} END",
        f"CREATE TRIGGER {name}_upd AFTER UPDATE OF {watched} ON {table} WHEN {changed}"
        f" BEGIN {_sqlite_apply(table, 'OLD', '-')} {_sqlite_apply(table, 'NEW', '')} END",
    ]


def trigger_statements(dialect: str) -> list[str]:
    """The DDL creating the rollup's triggers (and, on PostgreSQL, their functions)."""
    build = _pg_statements if dialect == "postgresql" else _sqlite_statements
    return [statement for table in _SOURCES for statement in build(table)]


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            *(
                f"DROP TRIGGER IF EXISTS rep_day_actuals_{table}_{event} ON {table}"
                for table in _SOURCES
                for event in ("ins", "upd", "del", "trunc")
            ),
            *(f"DROP FUNCTION IF EXISTS rep_day_actuals_from_{table}()" for table in _SOURCES),
        ]
    return [
        f"DROP TRIGGER IF EXISTS rep_day_actuals_{table}_{event}"
        for table in _SOURCES
        for event in ("ins", "upd", "del")
    ]


def rebuild_statements(dialect: str) -> list[str]:
    """Recompute the rollup from the raw rows (one INSERT..SELECT; writers wait on PostgreSQL)."""
    postgresql = dialect == "postgresql"
    visit_day = "(checked_in_at AT TIME ZONE 'UTC')::date" if postgresql else "date(checked_in_at)"
    # PostgreSQL: writers wait for the rebuild; TRUNCATE leaves no dead rows behind.
    return [
        *(["LOCK TABLE orders, checkins IN SHARE MODE"] if postgresql else []),
        "TRUNCATE rep_day_actuals" if postgresql else "DELETE FROM rep_day_actuals",
        "INSERT INTO rep_day_actuals (rep_id, day, revenue, orders, visits)"
        " SELECT rep_id, day, sum(revenue), sum(orders), sum(visits) FROM ("
        " SELECT rep_id, ordered_on AS day, sum(amount) AS revenue, count(*) AS orders, 0 AS visits"
        " FROM orders WHERE rep_id IS NOT NULL GROUP BY rep_id, ordered_on"
        " UNION ALL"
        f" SELECT rep_id, {visit_day} AS day, 0, 0, count(*) FROM checkins"
        f" WHERE checked_out_at IS NOT NULL GROUP BY rep_id, {visit_day}"
        " ) d GROUP BY rep_id, day ORDER BY day, rep_id",  # a period's rows on adjacent pages
        *(["ANALYZE rep_day_actuals"] if postgresql else []),
    ]


async def rebuild(connection: AsyncConnection) -> int:
    """Recompute rep_day_actuals from orders and checkins; returns the number of rollup rows."""
    for statement in rebuild_statements(connection.dialect.name):
        await connection.execute(text(statement))
    return int(await connection.scalar(text("SELECT count(*) FROM rep_day_actuals")) or 0)


@asynccontextmanager
async def triggers_suspended(connection: AsyncConnection) -> AsyncIterator[None]:
    """Load orders and checkins without the triggers, then rebuild the rollup once and put the
    triggers back, all in the caller's transaction (a restore: one aggregate instead of one
    upsert per row). Dropping a trigger locks its table until commit, so no other writer slips
    past uncounted."""
    dialect = connection.dialect.name
    for statement in drop_statements(dialect):
        await connection.execute(text(statement))
    yield
    await rebuild(connection)
    for statement in trigger_statements(dialect):
        await connection.execute(text(statement))
