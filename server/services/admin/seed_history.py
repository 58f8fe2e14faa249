"""The demo's customers and their history: visits, and orders — most taken at a visit (linked to
it, as a check-out with an order would be), the rest phoned in or imported from the ERP.

Visits keep the cadence of the grade the customer's size earns (the company's default visit
intervals: an account expected to be an A was seen weekly), with a day of jitter and the odd
missed visit, so the grades the real grading gives afterwards agree with the visit history: the
first start — and the simulation, which starts from this world — does not open with a backlog of
long-unvisited A accounts no planner could clear."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import Checkin, Customer, Order
from server.domain.grading import classify_abc
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.services.admin.seed_org import NAME_PARTS
from server.services.admin.seed_world import SeedOptions, World, bulk_insert, progress_bar

ORDER_AT_VISIT = 0.7  # share of orders written at a visit; the rest arrive by phone or ERP import
RECENT_DAYS = 91
OTHER_OUTCOMES = ("follow_up", "follow_up", "no_decision", "not_available")
CONTACTS = ("Li Wei", "Zhang Min", "Maria Lopez", "Wang Fang", "James Carter", "Chen Jing", "Sara Kim")


async def seed_customers_and_history(
    engine: AsyncEngine, world: World, customers: int, options: SeedOptions, progress: bool
) -> dict[str, int]:
    per_rep = [
        customers // len(world.reps) + (1 if i < customers % len(world.reps) else 0)
        for i in range(len(world.reps))
    ]
    totals = {"customers": 0, "orders": 0, "visits": 0, "orders_at_visits": 0}
    bar = progress_bar(progress, customers)
    profiles = _profiles(world, customers, options)
    serial = 0
    for rep, count in zip(world.reps, per_rep, strict=True):
        rows: dict[str, list[dict[str, Any]]] = {"customers": [], "visits": [], "orders": []}
        for _ in range(count):
            rows["customers"].append(_customer(world, rep, serial + 1, options, profiles[serial], rows))
            serial += 1
        async with engine.begin() as connection:
            await bulk_insert(connection, Customer.__table__, rows["customers"], world.now)
            await bulk_insert(connection, Checkin.__table__, rows["visits"], world.now)
            await bulk_insert(connection, Order.__table__, rows["orders"], world.now)
        totals["customers"] += len(rows["customers"])
        totals["orders"] += len(rows["orders"])
        totals["visits"] += len(rows["visits"])
        totals["orders_at_visits"] += sum(1 for o in rows["orders"] if o["checkin_id"] is not None)
        if bar:
            bar.advance(bar.task_ids[0], len(rows["customers"]))
    if bar:
        bar.stop()
    return totals


class _Profile(NamedTuple):
    size: float
    status: str
    dormant: bool
    orders_expected: float
    visit_every: int  # days: the interval of the grade the customer's expected revenue earns


def _profiles(world: World, customers: int, options: SeedOptions) -> list[_Profile]:
    """Every customer's size and status first, so each one's visit cadence can follow the grade
    its expected revenue earns among all the company's customers (Pareto ABC, as graded later)."""
    rng = world.rng
    drawn = []
    for _ in range(customers):
        # Pareto-shaped size: a few big accounts carry most of the revenue.
        size = min(rng.paretovariate(1.16), 400.0)
        roll = rng.random()
        status = "prospect" if roll < 0.08 else "active"
        dormant = status == "active" and roll < 0.16
        orders_expected = (
            0.0 if status == "prospect" or dormant else min(60.0, 6.2 * size**0.6) * options.months / 12
        )
        drawn.append((size, status, dormant, orders_expected))
    expected = {
        index: Decimal(str(round(orders * 300 * size**0.55, 2)))
        for index, (size, _status, _dormant, orders) in enumerate(drawn)
    }
    grades = classify_abc(expected)
    return [
        _Profile(size, status, dormant, orders, DEFAULT_VISIT_INTERVALS[grades[index]])
        for index, (size, status, dormant, orders) in enumerate(drawn)
    ]


def _visit_days(world: World, every: int, count: int, history_days: int) -> list[int]:
    """`count` visit days (days ago) on a cadence of `every` days: the latest within one interval
    (a little over, now and then), each a day early or late, and a few visits missed."""
    rng = world.rng
    first = rng.randint(1, every + max(1, every // 4))
    days = {
        min(history_days, max(1, day + rng.randint(-1, 1))) for day in range(first, history_days + 1, every)
    }
    ordered = sorted(days)
    while len(ordered) > count:
        ordered.pop(rng.randrange(len(ordered)))
    return ordered


def _customer(
    world: World,
    rep: dict[str, Any],
    serial: int,
    options: SeedOptions,
    profile: _Profile,
    rows: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    rng = world.rng
    history_days = options.months * 30
    customer_id = world.uid()
    size, status, dormant, orders_expected, visit_every = profile
    lat = round(rep["start_lat"] + rng.gauss(0, 0.04), 6)
    lng = round(rep["start_lng"] + rng.gauss(0, 0.04), 6)
    name = " ".join(rng.choice(part) for part in NAME_PARTS)
    n_orders = int(orders_expected + rng.random())
    n_visits = 0 if status == "prospect" else max(1, history_days // visit_every - rng.randint(0, 2))
    visit_days = _visit_days(world, visit_every, n_visits, history_days) if n_visits else []
    tz = ZoneInfo(rep["timezone"])
    visits = [_visit(world, rep, customer_id, days_ago, lat, lng, tz) for days_ago in visit_days]
    world.recent_visits_by_rep[rep["id"]] += sum(1 for d in visit_days if d <= RECENT_DAYS)
    # This month's orders are written later (seed_month), to the rep's form for the month.
    this_month = (world.today - world.month_start).days
    open_visits = [i for i, d in enumerate(visit_days) if d > this_month]
    buying = status == "active" and not dormant
    for visit, days_ago in zip(visits, visit_days, strict=True):
        if days_ago <= this_month:
            day = world.today - timedelta(days=days_ago)
            world.month_visits[rep["id"]].append((visit["id"], customer_id, size if buying else 0.0, day))
    last_order: date | None = None
    revenue = Decimal(0)
    for _ in range(n_orders):
        amount = Decimal(str(round(max(40.0, rng.gauss(1.0, 0.35) * 300 * size**0.55), 2)))
        checkin_id: uuid.UUID | None = None
        if open_visits and rng.random() < ORDER_AT_VISIT:
            visit = visits[open_visits.pop(rng.randrange(len(open_visits)))]
            visit["outcome"], visit["order_amount"] = "order", amount
            checkin_id, ordered_on = visit["id"], visit["checked_in_at"].astimezone(tz).date()
        else:
            ordered_on = world.today - timedelta(
                days=rng.randint(min(this_month + 1, history_days), history_days)
            )
        rows["orders"].append(
            {
                "id": world.uid(), "external_ref": None, "customer_id": customer_id, "rep_id": rep["id"],
                "amount": amount, "currency": "USD", "ordered_on": ordered_on,
                "source": "checkin" if checkin_id else "import", "checkin_id": checkin_id,
                "created_at": world.now,
            }
        )  # fmt: skip
        if ordered_on >= world.today - timedelta(days=365):
            revenue += amount
        last_order = ordered_on if last_order is None or ordered_on > last_order else last_order
    for visit in visits:
        if visit["outcome"] is None:
            visit["outcome"] = rng.choice(OTHER_OUTCOMES)
    rows["visits"] += visits
    world.revenue_by_rep[rep["id"]] += revenue
    last_visit = max((world.today - timedelta(days=d) for d in visit_days), default=None)
    return {
        "id": customer_id, "external_ref": f"C{serial:07d}", "name": f"{name} #{serial}",
        "owner_rep_id": rep["id"], "org_unit_id": world.team_of_rep[rep["id"]],
        "address": f"{rng.randint(1, 999)} Demo Road", "lat": lat, "lng": lng, "status": status,
        # From the serial, not the random stream: the demo's figures stay as they were.
        "contact_name": CONTACTS[serial % len(CONTACTS)], "contact_phone": f"+1 555 01{serial % 100:02d}",
        "grade": "D", "last_visit_on": last_visit, "last_order_on": last_order,
        "potential": Decimal(str(round(size * 4000, 2))),
    }  # fmt: skip


def _visit(
    world: World,
    rep: dict[str, Any],
    customer_id: uuid.UUID,
    days_ago: int,
    lat: float,
    lng: float,
    tz: ZoneInfo,
) -> dict[str, Any]:
    rng = world.rng
    local_day = world.today - timedelta(days=days_ago)
    at = datetime.combine(local_day, time(9 + rng.randint(0, 8), rng.randint(0, 59)), tz).astimezone(UTC)
    return {
        "id": world.uid(), "rep_id": rep["id"], "customer_id": customer_id, "task_id": None,
        "checked_in_at": at, "received_at": at, "lat": lat, "lng": lng, "accuracy_m": 15.0,
        "distance_m": round(abs(rng.gauss(0, 40)), 1), "geo_status": "verified", "flags": [],
        "request_hash": "seed", "checked_out_at": at + timedelta(minutes=rng.randint(15, 50)),
        "checkout_received_at": at + timedelta(minutes=50), "checkout_hash": "seed", "outcome": None,
        "order_amount": None, "notes": None, "next_step": None, "next_step_due": None, "extra": {},
    }  # fmt: skip
