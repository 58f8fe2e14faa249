"""Check-out: one order, one promise, the task done and the customer's dates, all or nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.config import Settings
from server.core.access import Principal
from server.core.services import Services
from server.db.models import (
    AuditEntry,
    Checkin,
    Customer,
    Order,
    OrgSettings,
    Promise,
    Task,
    User,
    VisitPolicy,
)
from server.domain.checkin import CheckoutIn
from server.services.checkins.visits import CheckinsService
from tests.conftest import Demo, MutableClock
from tests.integration.checkins.test_checkins_support import (
    API,
    Place,
    add_task,
    checkin_body,
    count_rows,
    customers_of,
)

# 23:50 in Shanghai (rep1's zone) on the 18th; the check-out at 00:10 falls on the 19th.
CHECK_IN = datetime(2026, 11, 18, 15, 50, tzinfo=UTC)
CHECK_OUT = datetime(2026, 11, 18, 16, 10, tzinfo=UTC)
VISIT_DAY, NEXT_DAY = date(2026, 11, 18), date(2026, 11, 19)


async def _checked_in(
    client: AsyncTestClient[Any], headers: dict[str, str], place: Place, **extra: Any
) -> str:
    response = await client.post(API, json=checkin_body(place, CHECK_IN, **extra), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _order(**extra: Any) -> dict[str, Any]:
    return {
        "checked_out_at": CHECK_OUT.isoformat(),
        "outcome": "order",
        "order_amount": "1250.50",
        "notes": "Wants the spring catalogue",
        "next_step": "Send the price list",
        "next_step_due": "2026-11-25",
    } | extra


async def _grade(engine: AsyncEngine, customer_id: UUID, grade: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(update(Customer).where(Customer.id == customer_id).values(grade=grade))


async def test_checkout_feeds_the_plan_once(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=5))
    rep1 = demo.user("rep1")
    headers = await auth("rep1")
    [place] = await customers_of(engine, rep1)
    await _grade(engine, place.id, "B")  # B: the default policy revisits in 14 days
    task_id = await add_task(engine, rep1, place.id, VISIT_DAY)
    other_day = await add_task(engine, rep1, place.id, NEXT_DAY)
    a_call = await add_task(engine, rep1, place.id, VISIT_DAY, kind="call", rank=0)
    checkin_id = await _checked_in(client, headers, place)

    first = await client.post(f"{API}/{checkin_id}/checkout", json=_order(), headers=headers)
    assert first.status_code == 200, first.text
    record = first.json()
    assert record["status"] == "completed" and record["outcome"] == "order"
    assert record["order_amount"] == "1250.50" and record["task_id"] == str(task_id)
    assert record["checked_out_at"] == "2026-11-18T16:10:00Z"

    async with engine.connect() as connection:
        [order] = (await connection.execute(select(Order).where(Order.checkin_id == checkin_id))).all()
        [promise] = (await connection.execute(select(Promise).where(Promise.checkin_id == checkin_id))).all()
        tasks = {
            row.id: row for row in await connection.execute(select(Task).where(Task.customer_id == place.id))
        }
        customer = (await connection.execute(select(Customer).where(Customer.id == place.id))).one()
    assert str(order.amount) == "1250.50" and order.source == "checkin" and order.rep_id == rep1
    assert order.ordered_on == NEXT_DAY, "the local date of the check-out in the rep's zone"
    assert str(order.id) == record["order_id"]
    assert (promise.text, promise.due_on, promise.status, promise.rep_id) == (
        "Send the price list",
        date(2026, 11, 25),
        "open",
        rep1,
    )
    assert str(promise.id) == record["promise_id"]
    assert tasks[task_id].status == "done" and str(tasks[task_id].checkin_id) == checkin_id
    assert tasks[task_id].status_changed_at == clock.now()
    assert tasks[other_day].status == "planned" and tasks[a_call].status == "planned"
    assert customer.last_visit_on == VISIT_DAY and customer.last_order_on == NEXT_DAY
    assert customer.next_visit_due == VISIT_DAY + timedelta(days=14)
    assert await count_rows(engine, AuditEntry, AuditEntry.entity_id == task_id) == 1

    clock.advance(hours=1)
    replay = await client.post(f"{API}/{checkin_id}/checkout", json=_order(), headers=headers)
    assert replay.status_code == 200 and replay.json() == record
    assert replay.headers["idempotent-replayed"] == "true"
    assert await count_rows(engine, Order, Order.checkin_id == checkin_id) == 1
    assert await count_rows(engine, Promise, Promise.checkin_id == checkin_id) == 1

    changed = _order(order_amount="1300", notes="Changed my mind")
    conflict = await client.post(f"{API}/{checkin_id}/checkout", json=changed, headers=headers)
    assert conflict.status_code == 409
    assert conflict.json()["conflicting_fields"] == ["notes", "order_amount"]
    assert (await client.get(f"{API}/{checkin_id}", headers=headers)).json() == record


async def test_a_task_named_at_check_in_is_completed_and_its_promise_kept(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=5))
    rep1 = demo.user("rep1")
    headers = await auth("rep1")
    [place] = await customers_of(engine, rep1)
    promise_id = uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            Promise.__table__.insert().values(
                id=promise_id,
                customer_id=place.id,
                rep_id=rep1,
                text="Bring samples",
                due_on=VISIT_DAY,
                status="open",
                created_at=CHECK_IN - timedelta(days=7),
            )
        )
    # A follow-up task from last week, carried over: not "today's visit", but named at check-in.
    task_id = await add_task(
        engine, rep1, place.id, VISIT_DAY - timedelta(days=2), "follow_up", promise_id=promise_id
    )
    checkin_id = await _checked_in(client, headers, place, task_id=str(task_id))
    body = {"checked_out_at": CHECK_OUT.isoformat(), "outcome": "no_decision"}
    response = await client.post(f"{API}/{checkin_id}/checkout", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["order_id"] is None and response.json()["promise_id"] is None
    async with engine.connect() as connection:
        task = (await connection.execute(select(Task).where(Task.id == task_id))).one()
        kept = (await connection.execute(select(Promise).where(Promise.id == promise_id))).one()
    assert task.status == "done" and str(task.checkin_id) == checkin_id
    assert kept.status == "done" and kept.done_at == clock.now()
    assert await count_rows(engine, Order, Order.checkin_id == checkin_id) == 0


async def test_visit_dates_never_move_backwards_and_follow_the_policy(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=5))
    headers = await auth("rep1")
    newer, policy = await customers_of(engine, demo.user("rep1"), 2)
    later = VISIT_DAY + timedelta(days=1)
    async with engine.begin() as connection:
        await connection.execute(
            update(Customer).where(Customer.id == newer.id).values(last_visit_on=later, next_visit_due=later)
        )
        await connection.execute(update(VisitPolicy).where(VisitPolicy.grade == "A").values(interval_days=10))
    await _grade(engine, policy.id, "A")
    body = {"checked_out_at": CHECK_OUT.isoformat(), "outcome": "follow_up"}
    for place in (newer, policy):
        checkin_id = await _checked_in(client, headers, place)
        assert (
            await client.post(f"{API}/{checkin_id}/checkout", json=body, headers=headers)
        ).status_code == 200
    async with engine.connect() as connection:
        rows = {
            r.id: r
            for r in await connection.execute(select(Customer).where(Customer.id.in_([newer.id, policy.id])))
        }
    assert (rows[newer.id].last_visit_on, rows[newer.id].next_visit_due) == (later, later)
    assert rows[policy.id].last_visit_on == VISIT_DAY
    assert rows[policy.id].next_visit_due == VISIT_DAY + timedelta(days=10)


async def test_checkout_rules_are_422_naming_the_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=5))
    headers = await auth("rep1")
    [place] = await customers_of(engine, demo.user("rep1"))
    checkin_id = await _checked_in(client, headers, place)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"order_amount": None}, 422, "order_amount"),
        ({"order_amount": "0"}, 422, "order_amount"),
        ({"order_amount": "-5"}, 422, "order_amount"),
        ({"order_amount": "12.345"}, 422, "order_amount"),
        ({"order_amount": "1e20"}, 422, "order_amount"),
        ({"order_amount": "NaN"}, 422, "order_amount"),
        ({"outcome": "follow_up"}, 422, "order_amount"),  # an amount without an order
        ({"outcome": "party", "order_amount": None}, 422, "outcome"),
        ({"checked_out_at": (CHECK_IN - timedelta(minutes=1)).isoformat()}, 422, "checked_out_at"),
        ({"checked_out_at": (clock.now() + timedelta(minutes=10)).isoformat()}, 422, "checked_out_at"),
        ({"next_step_due": None}, 422, "next_step_due"),
        ({"next_step": None}, 422, "next_step"),
        ({"next_step_due": "2026-11-17"}, 422, "next_step_due"),  # before the visit
        ({"order_amount": "lots"}, 400, "order_amount"),
        ({"next_step_due": "next week"}, 400, "next_step_due"),
        ({"checked_out_at": "2026-11-18T16:10:00"}, 400, "checked_out_at"),
        ({"outcome": ""}, 400, "outcome"),
        ({"mood": "great"}, 400, "mood"),
    ]
    for change, status, field in cases:
        body = {k: v for k, v in (_order() | change).items() if v is not None}
        response = await client.post(f"{API}/{checkin_id}/checkout", json=body, headers=headers)
        assert response.status_code == status, (change, response.text)
        assert field in {e["field"] for e in response.json()["errors"]}, (change, response.json())
    bad_id = await client.post(f"{API}/not-a-uuid/checkout", json=_order(), headers=headers)
    assert bad_id.status_code == 400 and bad_id.json()["errors"][0]["field"] == "checkin_id"
    unknown = await client.post(f"{API}/{uuid4()}/checkout", json=_order(), headers=headers)
    assert unknown.status_code == 404
    assert (await client.get(f"{API}/{checkin_id}", headers=headers)).json()["status"] == "open"
    assert await count_rows(engine, Order, Order.checkin_id == checkin_id) == 0


async def test_outcomes_are_the_orgs(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=5))
    headers = await auth("rep1")
    place, other = await customers_of(engine, demo.user("rep1"), 2)
    async with engine.begin() as connection:
        await connection.execute(update(OrgSettings).values(outcomes=["order", "demo_booked"]))
    body = {"checked_out_at": CHECK_OUT.isoformat(), "outcome": "lost"}
    refused = await client.post(
        f"{API}/{await _checked_in(client, headers, place)}/checkout", json=body, headers=headers
    )
    assert refused.status_code == 422 and "order, demo_booked" in refused.json()["errors"][0]["message"]
    body["outcome"] = "demo_booked"
    accepted = await client.post(
        f"{API}/{await _checked_in(client, headers, other)}/checkout", json=body, headers=headers
    )
    assert accepted.status_code == 200 and accepted.json()["outcome"] == "demo_booked"


async def test_a_burst_of_checkouts_makes_one_order(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=5))
    headers = await auth("rep1")
    place, other = await customers_of(engine, demo.user("rep1"), 2)
    same = await _checked_in(client, headers, place)
    url = f"{API}/{same}/checkout"
    responses = await asyncio.gather(*(client.post(url, json=_order(), headers=headers) for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert await count_rows(engine, Order, Order.checkin_id == same) == 1
    assert await count_rows(engine, Promise, Promise.checkin_id == same) == 1
    differing = await _checked_in(client, headers, other)
    bodies = [_order(order_amount=f"{100 + n}") for n in range(4)]
    url = f"{API}/{differing}/checkout"
    responses = await asyncio.gather(*(client.post(url, json=b, headers=headers) for b in bodies))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    assert await count_rows(engine, Order, Order.checkin_id == differing) == 1


async def test_a_racing_checkout_waits_and_answers_as_a_replay(
    client: AsyncTestClient[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: MutableClock,
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
) -> None:
    """Deterministic interleaving: B has read the open check-in when A's check-out commits."""
    clock.set(CHECK_OUT + timedelta(minutes=5))
    [place] = await customers_of(engine, demo.user("rep1"))
    checkin_id = UUID(await _checked_in(client, await auth("rep1"), place))
    body = CheckoutIn(checked_out_at=CHECK_OUT, outcome="order", order_amount=Decimal("99"))
    async with sessionmaker() as session_a, sessionmaker() as session_b:
        user = await session_a.get(User, demo.user("rep1"))
        assert user is not None
        rep = Principal(
            user.id, user.email, user.name, user.role, user.org_unit_id, user.timezone, user.locale
        )
        _, first = (
            await Services(session_a, settings, clock).get(CheckinsService).check_out(rep, checkin_id, body)
        )
        assert first
        racing = asyncio.create_task(
            Services(session_b, settings, clock).get(CheckinsService).check_out(rep, checkin_id, body)
        )
        await asyncio.sleep(0.3)  # B's conditional UPDATE now waits for A's transaction
        assert not racing.done()
        await session_a.commit()
        record, first = await asyncio.wait_for(racing, timeout=20)
        await session_b.commit()
    assert not first and record.order_id is not None
    assert await count_rows(engine, Order, Order.checkin_id == checkin_id) == 1
    assert (
        await count_rows(engine, Checkin, Checkin.id == checkin_id, Checkin.checkout_hash.is_not(None)) == 1
    )


async def test_gathered_checkouts_in_separate_transactions_make_one_order(
    client: AsyncTestClient[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: MutableClock,
    demo: Demo,
    auth: Any,
    engine: AsyncEngine,
) -> None:
    clock.set(CHECK_OUT + timedelta(minutes=5))
    [place] = await customers_of(engine, demo.user("rep1"))
    checkin_id = UUID(await _checked_in(client, await auth("rep1"), place))
    body = CheckoutIn(checked_out_at=CHECK_OUT, outcome="order", order_amount=Decimal("99"))

    async def submit() -> bool:
        async with sessionmaker() as session:
            user = await session.get(User, demo.user("rep1"))
            assert user is not None
            rep = Principal(
                user.id, user.email, user.name, user.role, user.org_unit_id, user.timezone, user.locale
            )
            _, first = (
                await Services(session, settings, clock).get(CheckinsService).check_out(rep, checkin_id, body)
            )
            await session.commit()
            return first

    assert sorted(await asyncio.gather(*(submit() for _ in range(5)))) == [False] * 4 + [True]
    assert await count_rows(engine, Order, Order.checkin_id == checkin_id) == 1
