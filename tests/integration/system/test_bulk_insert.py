"""server/db/bulk.py: many rows at once, by COPY on PostgreSQL, inside the session's transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.bulk import insert_rows
from server.db.models import Customer, Task
from tests.conftest import Demo

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def task_row(rep_id: UUID, customer_id: UUID | None, n: int) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "rep_id": rep_id,
        "local_date": date(2026, 11, 25),
        "customer_id": customer_id,
        "kind": "visit" if customer_id else "call",
        "title": None if n % 2 else f"Bring the samples, n° {n} — 样品",
        "rank": n,
        "route_order": n,
        "score": 3.25 + n,
        "reasons": [{"code": "cadence", "text": "Grade A", "weight": 6.0, "params": {"days": n, "x": None}}],
        "status": "planned",
        "due_at": NOW,
        "source": "planner",
        "created_by": None,
        "checkin_id": None,
        "promise_id": None,
        "carried_from_id": None,
        "status_reason": None,
        "status_note": None,
        "snoozed_until": None,
        "status_changed_at": None,
        "distance_m": None if n % 3 else 120.5,
        "reminders_sent": 0,
        "last_reminded_at": None,
        "created_at": NOW,
        "updated_at": NOW,
    }


async def test_rows_are_stored_as_given_and_roll_back_with_the_session(
    sessionmaker: async_sessionmaker[AsyncSession], demo: Demo, engine_name: str, monkeypatch: Any
) -> None:
    import asyncpg

    copies: list[str] = []
    copy = asyncpg.Connection.copy_records_to_table

    async def spy(self: Any, table_name: str, **kwargs: Any) -> Any:
        copies.append(table_name)
        return await copy(self, table_name, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "copy_records_to_table", spy)
    rep = demo.user("rep1")
    async with sessionmaker() as session:
        customers = list(
            (await session.scalars(select(Customer.id).where(Customer.owner_rep_id == rep))).all()
        )
        rows = [
            task_row(rep, customers[n] if n < len(customers) else None, n) for n in range(len(customers) + 2)
        ]
        before = await session.scalar(select(func.count()).select_from(Task))  # begins the transaction
        await insert_rows(session, Task.__table__, rows)
        assert copies == (["tasks"] if engine_name == "postgresql" else [])
        stored = {
            t.id: t for t in (await session.scalars(select(Task).where(Task.id.in_([r["id"] for r in rows]))))
        }
        assert len(stored) == len(rows)
        for row in rows:
            task = stored[row["id"]]
            for name, value in row.items():
                assert getattr(task, name) == value, (name, getattr(task, name), value)
        await session.rollback()
    async with sessionmaker() as session:  # the rows went with the transaction: nothing was committed
        assert await session.scalar(select(func.count()).select_from(Task)) == before


async def test_nothing_to_insert_is_no_statement(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        await insert_rows(session, Task.__table__, [])
        assert not session.in_transaction()
