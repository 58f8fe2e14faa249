"""Monthly partitions of escalation_events on PostgreSQL; nothing of it on SQLite (scale_0004)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import Escalation, EscalationEvent
from server.db.partitions import ensure_partitions, is_partitioned, partition_name


async def _escalation(engine: AsyncEngine) -> uuid.UUID:
    escalation_id, at = uuid.uuid4(), datetime(2032, 6, 3, 9, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.execute(
            Escalation.__table__.insert().values(
                id=escalation_id, rule="pace_revenue", subject_type="user", subject_id=uuid.uuid4(),
                severity="red", level=1, state="open", dedup_key=f"test:{escalation_id}", opened_at=at,
                level_changed_at=at, last_seen_at=at, clear_count=0, snapshot={},
            )
        )  # fmt: skip
    return escalation_id


async def test_events_are_partitioned_by_month_and_months_are_made_ahead(
    engine: AsyncEngine, engine_name: str
) -> None:
    async with engine.begin() as connection:
        partitioned = await is_partitioned(connection, "escalation_events")
        created = await ensure_partitions(connection, date(2031, 1, 15), months_ahead=2)
    if engine_name == "sqlite":
        assert (partitioned, created) == (False, [])
        return
    assert partitioned
    assert created == [partition_name("escalation_events", date(2031, m, 1)) for m in (1, 2, 3)]
    async with engine.begin() as connection:  # all there: nothing more to make
        assert await ensure_partitions(connection, date(2031, 1, 15), months_ahead=2) == []

    # An event of a month without a partition lands in DEFAULT; making that month moves it over.
    escalation_id = await _escalation(engine)
    async with engine.begin() as connection:
        await connection.execute(
            EscalationEvent.__table__.insert().values(
                id=uuid.uuid4(),
                escalation_id=escalation_id,
                at=datetime(2032, 6, 3, 9, tzinfo=UTC),
                event="opened",
            )
        )
        assert await connection.scalar(text("SELECT count(*) FROM escalation_events_default")) == 1
        assert await ensure_partitions(connection, date(2032, 6, 1), months_ahead=0) == [
            "escalation_events_y2032m06"
        ]
        assert await connection.scalar(text("SELECT count(*) FROM escalation_events_default")) == 0
        assert await connection.scalar(text("SELECT count(*) FROM escalation_events_y2032m06")) == 1
        assert await connection.scalar(select(func.count()).select_from(EscalationEvent)) == 1
        # A query on a time range reads only that month's partition.
        plan = (
            await connection.execute(
                text("EXPLAIN SELECT * FROM escalation_events WHERE at >= '2032-06-01' AND at < '2032-07-01'")
            )
        ).all()
        scanned = " ".join(row[0] for row in plan)
        assert "escalation_events_y2032m06" in scanned and "escalation_events_default" not in scanned
