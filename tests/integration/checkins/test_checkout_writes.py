"""The check-out's writes (server/services/checkins/checkout_writes.py): one PostgreSQL statement,
or the same writes one by one on SQLite, and nothing at all unless the claim matched."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import AuditEntry, Customer, Order, Promise, Task
from server.services.checkins.checkout_writes import CheckoutWrites, run_fused, run_in_sequence
from tests.conftest import Demo, MutableClock
from tests.integration.checkins.test_checkins_support import API, Place, checkin_body, customers_of


async def _checked_in(
    client: AsyncTestClient[Any], headers: dict[str, str], place: Place, at: datetime
) -> UUID:
    body = checkin_body(place, at - timedelta(minutes=30))
    response = await client.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return UUID(body["id"])


def _writes(checkin_id: UUID, rep_id: UUID, place: Place, now: datetime, day: date) -> CheckoutWrites:
    """Every part a check-out can write: an order, a next step, a walk-in task and its audit entry."""
    task_id = uuid4()
    claim = {
        "checkin_id": checkin_id,
        "checked_out_at": now,
        "checkout_received_at": now,
        "checkout_hash": "f" * 64,
        "outcome": "order",
        "order_amount": 120,
        "notes": "n",
        "next_step": "Call",
        "next_step_due": day + timedelta(days=7),
        "extra": {},
        "task_id": task_id,
    }
    return CheckoutWrites(
        claim=claim,
        customer={
            "customer_id": place.id,
            "visit_date": day,
            "next_due": day + timedelta(days=14),
            "ordered_on": day,
            "now": now,
        },
        order={
            "id": uuid4(),
            "customer_id": place.id,
            "rep_id": rep_id,
            "amount": 120,
            "ordered_on": day,
            "source": "checkin",
            "checkin_id": checkin_id,
            "created_at": now,
        },
        promise={
            "id": uuid4(),
            "customer_id": place.id,
            "rep_id": rep_id,
            "checkin_id": checkin_id,
            "text": "Call",
            "due_on": day + timedelta(days=7),
            "status": "open",
            "created_at": now,
        },
        walk_in={
            "id": task_id,
            "rep_id": rep_id,
            "local_date": day,
            "customer_id": place.id,
            "kind": "visit",
            "source": "walk_in",
            "status": "done",
            "checkin_id": checkin_id,
            "status_changed_at": now,
            "created_by": rep_id,
            "score": 0.0,
            "reasons": [],
            "reminders_sent": 0,
            "created_at": now,
            "updated_at": now,
        },
        audit={
            "id": uuid4(),
            "actor_id": rep_id,
            "action": "task.walk_in",
            "entity": "task",
            "entity_id": task_id,
            "before": None,
            "after": {"status": "done"},
            "at": now,
        },
    )


async def _write(engine: AsyncEngine, writes: CheckoutWrites, fused: bool) -> bool:
    async with engine.begin() as connection:

        async def run(statement: Any, params: dict[str, Any]) -> Any:
            return await connection.execute(statement, params)

        return await (run_fused if fused else run_in_sequence)(run, writes)


async def _rows(engine: AsyncEngine, table: Table, where: Any) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        return [dict(row._mapping) for row in await connection.execute(select(table).where(where))]


async def test_a_claim_that_matches_nothing_writes_nothing(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    """The racing twin of a check-out: its claim finds the check-out recorded and nothing of its
    order, next step, task, audit entry or customer dates is written (either way of writing)."""
    rep = demo.user("rep1")
    [place] = await customers_of(engine, rep)
    now, day = clock.now(), clock.now().date()
    checkin_id = await _checked_in(client, await auth("rep1"), place, now)
    first = _writes(checkin_id, rep, place, now, day)
    fused = engine.dialect.name == "postgresql"
    assert await _write(engine, first, fused) is True

    customer = Customer.__table__
    before = await _rows(engine, customer, customer.c.id == place.id)
    twin = _writes(checkin_id, rep, place, now + timedelta(hours=1), day + timedelta(days=1))
    assert await _write(engine, twin, fused) is False

    for table, row in (
        (Order.__table__, twin.order),
        (Promise.__table__, twin.promise),
        (Task.__table__, twin.walk_in),
        (AuditEntry.__table__, twin.audit),
    ):
        assert row is not None
        assert await _rows(engine, table, table.c.id == row["id"]) == []
    assert await _rows(engine, customer, customer.c.id == place.id) == before  # dates not moved
    for table, row in ((Order.__table__, first.order), (Promise.__table__, first.promise)):
        assert row is not None
        assert len(await _rows(engine, table, table.c.id == row["id"])) == 1


@pytest.mark.parametrize("engine_name", ["postgresql"])  # the fused statement is PostgreSQL's
async def test_the_fused_statement_writes_what_the_sequence_writes(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    """Two visits with the same writes, one written statement by statement and one fused: every
    column of every row matches but the ids (the plain INSERT's defaults, such as the order's
    currency, included)."""
    rep = demo.user("rep1")
    first_place, second_place = await customers_of(engine, rep, 2)
    now, day = clock.now(), clock.now().date()
    headers = await auth("rep1")
    written: list[CheckoutWrites] = []
    for place, fused in ((first_place, False), (second_place, True)):
        checkin_id = await _checked_in(client, headers, place, now)
        writes = _writes(checkin_id, rep, place, now, day)
        assert await _write(engine, writes, fused) is True
        written.append(writes)

    ids = {"id", "checkin_id", "customer_id", "entity_id", "task_id"}
    for part, table in (
        ("order", Order.__table__),
        ("promise", Promise.__table__),
        ("walk_in", Task.__table__),
        ("audit", AuditEntry.__table__),
    ):
        sequence, fused_rows = [
            await _rows(engine, table, table.c.id == getattr(w, part)["id"]) for w in written
        ]
        assert len(sequence) == len(fused_rows) == 1, part
        assert {k: v for k, v in sequence[0].items() if k not in ids} == {
            k: v for k, v in fused_rows[0].items() if k not in ids
        }, part
    customer = Customer.__table__
    dates = [
        (row["last_visit_on"], row["next_visit_due"], row["last_order_on"])
        for place in (first_place, second_place)
        for row in await _rows(engine, customer, customer.c.id == place.id)
    ]
    assert dates[0] == dates[1] == (day, day + timedelta(days=14), day)
