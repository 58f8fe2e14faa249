"""How many statements a check-in and a check-out send (issue 25, the check-in path).

Every round trip costs server CPU and latency, so the visit's reads are folded into one statement
each (server/services/checkins/context.py). This pins the counts: a change that adds a statement
to the hot path fails here and has to say why. Counted: what the app's engine sends through a
cursor while serving the request, less the bearer-token lookup (the fair floor pays it too, and
PostgreSQL's token cache skips it); PostgreSQL adds BEGIN, the pool's ping and COMMIT to each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Demo, MutableClock
from tests.integration.checkins.test_checkins_support import API, add_task, checkin_body, customers_of


@contextmanager
def statements_of(client: AsyncTestClient[Any]) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "auth_tokens" not in statement:
            sent.append(" ".join(statement.split())[:120])

    target = client.app.state.engine.sync_engine
    event.listen(target, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(target, "before_cursor_execute", record)


async def test_a_visit_sends_few_statements(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    postgres = engine.dialect.name == "postgresql"
    headers = await auth("rep1")
    walk_in, planned = await customers_of(engine, demo.user("rep1"), 2)

    body = checkin_body(walk_in, clock.now() - timedelta(minutes=30))
    with statements_of(client) as sent:
        assert (await client.post(API, json=body, headers=headers)).status_code == 201
    # the arrival's read (customer, radius, previous fix, open visits, task), the INSERT
    assert len(sent) == 2, "\n".join(sent)

    out = {"checked_out_at": clock.now().isoformat(), "outcome": "order", "order_amount": "120.00"}
    with statements_of(client) as sent:
        response = await client.post(f"{API}/{body['id']}/checkout", json=out, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["order_id"] and response.json()["task_id"]
    # the visit's read, today's planned task, then the writes: the claim, the order, the walk-in
    # task, its audit entry, the customer's dates (PostgreSQL: all five in one statement)
    assert len(sent) == (3 if postgres else 7), "\n".join(sent)
    if postgres:
        assert sent[-1].startswith("WITH claim AS (UPDATE checkins"), sent[-1]

    with statements_of(client) as sent:  # a replay of the check-out reads the stored record
        replay = await client.post(f"{API}/{body['id']}/checkout", json=out, headers=headers)
    assert replay.status_code == 200 and replay.json() == response.json()
    assert len(sent) == 3, "\n".join(sent)

    clock.advance(minutes=40)
    task_id = await add_task(engine, demo.user("rep1"), planned.id, clock.now().date())
    body = checkin_body(planned, clock.now() - timedelta(minutes=20), task_id=str(task_id))
    with statements_of(client) as sent:
        assert (await client.post(API, json=body, headers=headers)).status_code == 201
    assert len(sent) == 2, "\n".join(sent)
    due = str(clock.now().date() + timedelta(days=7))
    out = {
        "checked_out_at": clock.now().isoformat(),
        "outcome": "follow_up",
        "next_step": "Call",
        "next_step_due": due,
    }
    with statements_of(client) as sent:
        response = await client.post(f"{API}/{body['id']}/checkout", json=out, headers=headers)
    assert response.status_code == 200 and response.json()["promise_id"], response.text
    # the visit's read (with the named task), then the claim, the promise, the task done, its
    # audit entry, the customer's dates (PostgreSQL: one statement)
    assert len(sent) == (2 if postgres else 6), "\n".join(sent)


async def test_an_arrival_with_a_visit_still_open_closes_it_in_one_more_statement(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    first, second = await customers_of(engine, demo.user("rep1"), 2)
    earlier = checkin_body(first, clock.now() - timedelta(minutes=50))
    assert (await client.post(API, json=earlier, headers=headers)).status_code == 201
    body = checkin_body(second, clock.now() - timedelta(minutes=5))
    with statements_of(client) as sent:
        assert (await client.post(API, json=body, headers=headers)).status_code == 201
    assert len(sent) == 3, "\n".join(sent)
    closed = (await client.get(f"{API}/{earlier['id']}", headers=headers)).json()
    assert closed["status"] == "closed_by_next_visit" and closed["closed_by_checkin_id"] == body["id"]
