"""Amounts a rep can trust (issue 17): a far-too-large order needs confirming and is flagged to
the manager; corrections are new entries (who may, within which window), audited, and progress
counts the corrected figure."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import AuditEntry, Notification, Order
from tests.conftest import Demo, MutableClock, bearer
from tests.integration.checkins.test_checkins_support import API, checkin_body, customers_of


async def largest_recent(engine: AsyncEngine, customer_id: Any) -> Decimal:
    async with engine.connect() as connection:
        value = await connection.scalar(
            select(func.max(Order.amount)).where(
                Order.customer_id == customer_id, Order.ordered_on > date(2026, 11, 18) - timedelta(days=365)
            )
        )
    return Decimal(value or 0)


async def visit(
    client: AsyncTestClient[Any], headers: Any, place: Any, clock: MutableClock, **checkout: Any
) -> Any:
    body = checkin_body(place, clock.now() - timedelta(minutes=30))
    assert (await client.post(API, json=body, headers=headers)).status_code == 201
    out = {"checked_out_at": clock.now().isoformat(), "outcome": "order"} | checkout
    return body["id"], await client.post(f"{API}/{body['id']}/checkout", json=out, headers=headers)


async def test_an_amount_far_above_history_needs_confirmation_and_is_flagged(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    places = await customers_of(engine, demo.user("rep1"), 10)
    history = [(p, await largest_recent(engine, p.id)) for p in places]
    place, largest = next((p, largest) for p, largest in history if largest > 0)
    too_big = str(max(largest * 10 + Decimal("0.01"), Decimal("10000")).quantize(Decimal("0.01")))
    checkin_id, refused = await visit(client, headers, place, clock, order_amount=too_big)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert [e["field"] for e in problem["errors"]] == ["order_amount"]
    assert problem["needs_confirmation"] is True and Decimal(problem["largest_recent_order"]) == largest
    async with engine.connect() as connection:
        assert (
            await connection.scalar(
                select(func.count()).select_from(Order).where(Order.checkin_id == checkin_id)
            )
            == 0
        )

    out = {
        "checked_out_at": clock.now().isoformat(),
        "outcome": "order",
        "order_amount": too_big,
        "amount_confirmed": True,
    }
    confirmed = await client.post(f"{API}/{checkin_id}/checkout", json=out, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    order_id = confirmed.json()["order_id"]
    async with engine.connect() as connection:
        order = (await connection.execute(select(Order).where(Order.id == order_id))).one()
        flags = (
            await connection.execute(select(Notification).where(Notification.kind == "large_order"))
        ).all()
    assert order.amount == Decimal(too_big) and order.amount_confirmed is True
    assert [(n.user_id, n.dedup_key) for n in flags] == [(demo.user("manager1"), f"large_order:{order_id}")]

    # An ordinary amount goes through without a word, and flags nothing.
    _, usual = await visit(client, headers, places[-1], clock, order_amount="120.50")
    assert usual.status_code == 200, usual.text


async def test_below_the_ceiling_no_confirmation_is_needed(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    headers = await auth("rep1")
    places = await customers_of(engine, demo.user("rep1"), 40)
    history = [(p, await largest_recent(engine, p.id)) for p in places]
    small = [p for p, largest in history if Decimal(0) < largest < Decimal(999)]
    assert small, "the demo has customers with small orders"
    # More than 10x a small history, but under the 10,000 ceiling: accepted without a word.
    _, answer = await visit(client, headers, small[0], clock, order_amount="9999.99")
    assert answer.status_code == 200, answer.text


async def progress_actual(client: AsyncTestClient[Any], headers: Any) -> Decimal:
    body = (await client.get("/api/v1/progress?as_of=2026-11-18", headers=headers)).json()
    return Decimal(body["actual"])


async def test_corrections_who_may_within_which_window_and_what_progress_shows(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: MutableClock
) -> None:
    rep, manager, other = await auth("rep1"), await auth("manager1"), await auth("rep2")
    [place] = await customers_of(engine, demo.user("rep1"), 1)
    before = await progress_actual(client, rep)
    _, done = await visit(client, rep, place, clock, order_amount="777.70")
    order_id = done.json()["order_id"]
    assert await progress_actual(client, rep) == before + Decimal("777.70")

    url = f"/api/v1/orders/{order_id}/corrections"
    # The rep, within 24 h: 777.70 was meant to be 77.77.
    fixed = await client.post(url, json={"amount": "-699.93", "reason": "Typed an extra digit"}, headers=rep)
    assert fixed.status_code == 201, fixed.text
    entry = fixed.json()
    assert entry["corrects_order_id"] == order_id and entry["source"] == "correct"
    assert Decimal(entry["amount"]) == Decimal("-699.93") and Decimal(entry["corrected_total"]) == Decimal(
        "77.77"
    )
    assert await progress_actual(client, rep) == before + Decimal("77.77")
    async with engine.connect() as connection:
        assert (
            await connection.scalar(select(func.count()).select_from(Order).where(Order.id == order_id)) == 1
        )
        audit = (
            await connection.execute(select(AuditEntry).where(AuditEntry.action == "order.corrected"))
        ).one()
    assert audit.actor_id == demo.user("rep1") and audit.after["reason"] == "Typed an extra digit"

    # Another rep cannot see the order at all; nobody takes it below zero; zero changes nothing.
    assert (await client.post(url, json={"amount": "-1", "reason": "x"}, headers=other)).status_code == 404
    below = await client.post(url, json={"amount": "-77.78", "reason": "Cancelled"}, headers=rep)
    assert below.status_code == 422 and below.json()["errors"][0]["field"] == "amount"
    zero = await client.post(url, json={"amount": "0", "reason": "Nothing"}, headers=rep)
    assert zero.status_code == 422
    blank = await client.post(url, json={"amount": "-1", "reason": "   "}, headers=rep)
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"
    bad = await client.post(url, json={"amount": "-1.001", "reason": "x"}, headers=rep)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "amount"
    assert (await client.post(url, json={"amount": "-1"}, headers=rep)).status_code == 400  # no reason

    # After 24 h the rep may not; their manager may, any time: a full credit note.
    clock.advance(hours=25)
    rep, manager = await bearer(client, "rep1"), await bearer(client, "manager1")  # a day later
    late = await client.post(url, json={"amount": "-77.77", "reason": "Order cancelled"}, headers=rep)
    assert late.status_code == 403 and late.json()["errors"][0]["field"] == "order_id"
    credit = await client.post(url, json={"amount": "-77.77", "reason": "Order cancelled"}, headers=manager)
    assert credit.status_code == 201, credit.text
    assert Decimal(credit.json()["corrected_total"]) == 0
    assert await progress_actual(client, rep) == before
    # A correction is not itself corrected: the original is.
    again = await client.post(
        f"/api/v1/orders/{entry['id']}/corrections", json={"amount": "1", "reason": "x"}, headers=manager
    )
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "order_id"
