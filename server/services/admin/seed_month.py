"""The demo's month so far, shaped so the first start shows a believable picture: each rep has a
form (this month's pace against plan), mostly on plan, some a little behind, a few far behind.
Their orders this month are taken at this month's visits, and this month's visit target is what
their visits so far make of that form. Docs: README "First start"."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.models import Checkin, Customer, Order
from server.domain.calendar import month_end, weighted_elapsed_fraction
from server.services.admin.seed_world import World, bulk_insert

# One form per rep: rep1 (a demo login, in manager1's team) is far behind, so the escalation
# ladder shows from the demo logins at once; the others are dealt in turn from a shuffled deck:
# per 12 reps 8 on plan (green), 2 a little behind (yellow/orange) and 2 far behind (red).
FIRST_FORM = "0.62"
FORMS = ("1.12", "1.08", "1.05", "1.02", "1.00", "0.98", "0.96", "0.93", "0.86", "0.80", "0.58")


def deal_forms(world: World) -> None:
    deck: list[str] = []
    for index, rep in enumerate(world.reps):
        if index == 0:
            world.form[rep["id"]] = Decimal(FIRST_FORM)
            continue
        if not deck:
            deck = list(FORMS)
            world.rng.shuffle(deck)
        world.form[rep["id"]] = Decimal(deck.pop())


def month_fraction(world: World) -> Decimal:
    """Share of this month's working days elapsed by the end of today (as pace counts them)."""
    return weighted_elapsed_fraction(world.month_start, month_end(world.today), world.today)


def month_visit_target(world: World, rep_id: uuid.UUID, usual: Decimal) -> Decimal:
    """This month's visit target: the visits so far at the rep's form, or the usual one."""
    fraction = month_fraction(world)
    done = len([v for v in world.month_visits[rep_id] if v[3] < world.today])
    if fraction <= 0 or done == 0:
        return usual
    target = Decimal(done) / (fraction * world.form[rep_id])
    return min(max(target, usual / 4), usual * 4).quantize(Decimal(1))


async def seed_month_orders(connection: AsyncConnection, world: World) -> int:
    """This month's orders up to yesterday: at the rep's form of their month revenue target, each
    taken at one of this month's visits (the visit's outcome becomes "order")."""
    fraction = month_fraction(world)
    orders: list[dict[str, Any]] = []
    visit_orders: list[dict[str, Any]] = []
    for rep in world.reps:
        target = world.month_revenue_target.get(rep["id"], Decimal(0))
        wanted = (target * fraction * world.form[rep["id"]]).quantize(Decimal("0.01"))
        visits = [v for v in world.month_visits[rep["id"]] if v[3] < world.today and v[2] > 0]
        world.rng.shuffle(visits)
        # About one visit in three this month ends with an order; bigger customers order more.
        chosen = visits[: max(1, len(visits) // 3)] if wanted > 0 else []
        weights = [Decimal(str(round(size**0.55, 4))) for _, _, size, _ in chosen]
        total_weight = sum(weights, Decimal(0))
        for (visit_id, customer_id, _size, day), weight in zip(chosen, weights, strict=True):
            amount = (wanted * weight / total_weight).quantize(Decimal("0.01"))
            if amount <= 0:
                continue
            orders.append(_order(world, rep["id"], customer_id, visit_id, amount, day))
            visit_orders.append({"visit_id": visit_id, "amount": amount})
    await bulk_insert(connection, Order.__table__, orders, world.now)
    if visit_orders:
        await connection.execute(
            update(Checkin)
            .where(Checkin.id == bindparam("visit_id"))
            .values(outcome="order", order_amount=bindparam("amount")),
            visit_orders,
        )
        latest = select(func.max(Order.ordered_on)).where(Order.customer_id == Customer.id).scalar_subquery()
        touched = sorted({o["customer_id"] for o in orders})
        for offset in range(0, len(touched), 1000):
            await connection.execute(
                update(Customer)
                .where(Customer.id.in_(touched[offset : offset + 1000]))
                .values(last_order_on=latest)
            )
    return len(orders)


def _order(
    world: World, rep_id: uuid.UUID, customer_id: uuid.UUID, visit_id: uuid.UUID, amount: Decimal, day: date
) -> dict[str, Any]:
    return {
        "id": world.uid(), "external_ref": None, "customer_id": customer_id, "rep_id": rep_id,
        "amount": amount, "currency": "USD", "ordered_on": day, "source": "checkin",
        "checkin_id": visit_id, "created_at": world.now,
    }  # fmt: skip
