"""rep_day_actuals, kept by triggers: equal to a recomputation from the raw rows after every kind
of write, and the actuals read through it equal counting raw rows, at any time zone offset."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.services import Services
from server.db.actuals_rollup import rebuild, triggers_suspended
from server.db.models import Checkin, Customer, Order, User, rep_day_actuals
from server.services.admin.seed import seed_demo
from server.services.admin.seed_world import SeedOptions
from server.services.plans.actuals import whole_utc_days
from server.services.plans.progress import ProgressService
from tests.conftest import Demo, MutableClock

Key = tuple[uuid.UUID, date]
NOV_START, AS_OF = date(2026, 11, 1), date(2026, 11, 18)


async def rollup(session: AsyncSession) -> dict[Key, tuple[Decimal, int, int]]:
    """The rollup's rows, those that fell back to all zeros left out."""
    rows = await session.execute(select(rep_day_actuals))
    return {
        (r.rep_id, r.day): (Decimal(r.revenue), r.orders, r.visits)
        for r in rows
        if (r.revenue, r.orders, r.visits) != (0, 0, 0)
    }


async def recomputed(session: AsyncSession) -> dict[Key, tuple[Decimal, int, int]]:
    """The same figures counted here, in Python, from every order and check-in."""
    figures: dict[Key, list[Any]] = defaultdict(lambda: [Decimal(0), 0, 0])
    for rep_id, ordered_on, amount in await session.execute(
        select(Order.rep_id, Order.ordered_on, Order.amount)
    ):
        if rep_id is not None:
            figures[(rep_id, ordered_on)][0] += amount
            figures[(rep_id, ordered_on)][1] += 1
    for rep_id, checked_in_at, checked_out_at in await session.execute(
        select(Checkin.rep_id, Checkin.checked_in_at, Checkin.checked_out_at)
    ):
        if checked_out_at is not None:
            figures[(rep_id, checked_in_at.astimezone(UTC).date())][2] += 1
    return {key: (f[0], f[1], f[2]) for key, f in figures.items() if tuple(f) != (0, 0, 0)}


async def assert_in_step(session: AsyncSession) -> None:
    await session.flush()
    assert await rollup(session) == await recomputed(session)


def new_order(customer: uuid.UUID, rep: uuid.UUID | None, amount: str, on: date) -> Order:
    return Order(
        id=uuid.uuid4(),
        customer_id=customer,
        rep_id=rep,
        amount=Decimal(amount),
        ordered_on=on,
        source="api",
        created_at=datetime(2026, 11, 18, tzinfo=UTC),
    )


def new_checkin(rep: uuid.UUID, customer: uuid.UUID, at: datetime, done: bool = True) -> Checkin:
    return Checkin(
        id=uuid.uuid4(),
        rep_id=rep,
        customer_id=customer,
        checked_in_at=at,
        received_at=at,
        geo_status="verified",
        request_hash="test",
        checked_out_at=at + timedelta(minutes=20) if done else None,
    )


async def some_customer(session: AsyncSession, rep: uuid.UUID) -> uuid.UUID:
    customer = await session.scalar(select(Customer.id).where(Customer.owner_rep_id == rep).limit(1))
    assert customer is not None
    return customer


async def test_rollup_follows_every_kind_of_write(session: AsyncSession, demo: Demo) -> None:
    rep1, rep2 = demo.user("rep1"), demo.user("rep2")
    customer = await some_customer(session, rep1)
    await assert_in_step(session)  # the seeded history (COPY or batched INSERT) is counted
    assert await rollup(session), "the demo's history is rolled up"

    order = new_order(customer, rep1, "100.10", date(2026, 11, 16))
    session.add_all([order, new_order(customer, None, "55.00", date(2026, 11, 16))])
    await assert_in_step(session)
    order.amount = Decimal("250.25")  # an amount corrected
    await assert_in_step(session)
    order.rep_id = rep2  # reassigned to another rep
    await assert_in_step(session)
    order.ordered_on = date(2026, 11, 2)  # moved to another day
    await assert_in_step(session)
    order.rep_id = None  # no rep: not rolled up any more
    await assert_in_step(session)
    order.rep_id = rep1
    await assert_in_step(session)
    # Several rows in one statement, several in one executemany, then a set-based UPDATE.
    await session.execute(
        insert(Order),
        [
            {
                "id": uuid.uuid4(),
                "customer_id": customer,
                "rep_id": rep,
                "amount": Decimal(amount),
                "ordered_on": date(2026, 11, 17),
                "source": "import",
                "created_at": datetime(2026, 11, 18, tzinfo=UTC),
            }
            for rep, amount in ((rep1, "10.00"), (rep1, "20.50"), (rep2, "7.25"))
        ],
    )
    await assert_in_step(session)
    await session.execute(update(Order).where(Order.rep_id == rep1).values(amount=Order.amount + 1))
    await assert_in_step(session)
    await session.delete(order)
    await assert_in_step(session)

    visit = new_checkin(rep1, customer, datetime(2026, 11, 17, 23, 50, tzinfo=UTC), done=False)
    session.add(visit)
    await assert_in_step(session)  # not checked out: no visit yet
    visit.checked_out_at = datetime(2026, 11, 18, 0, 10, tzinfo=UTC)  # the check-out
    await assert_in_step(session)
    visit.checked_in_at = datetime(2026, 11, 18, 0, 5, tzinfo=UTC)  # moved across UTC midnight
    await assert_in_step(session)
    visit.rep_id = rep2
    await assert_in_step(session)
    visit.notes = "no figure changes"
    await assert_in_step(session)
    await session.execute(update(Checkin).where(Checkin.rep_id == rep2).values(checked_out_at=None))
    await assert_in_step(session)
    visit.checked_out_at = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
    await assert_in_step(session)
    await session.execute(delete(Checkin).where(Checkin.id == visit.id))
    await assert_in_step(session)


async def test_rebuild_recomputes_a_damaged_rollup(session: AsyncSession, demo: Demo) -> None:
    before = await rollup(session)
    await session.execute(text("DELETE FROM rep_day_actuals WHERE visits > 2"))
    await session.execute(update(rep_day_actuals).values(revenue=rep_day_actuals.c.revenue + 1))
    assert await rollup(session) != before
    assert await rebuild(await session.connection()) > 0
    assert await rollup(session) == before == await recomputed(session)


@pytest.mark.parametrize(
    ("begin", "finish"),
    [
        (datetime(2026, 10, 31, 18, 30, tzinfo=UTC), datetime(2026, 11, 18, 18, 30, tzinfo=UTC)),  # +05:30
        (datetime(2026, 11, 1, 7, tzinfo=UTC), datetime(2026, 11, 19, 8, tzinfo=UTC)),  # DST ends inside
        (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC)),  # UTC: no edges
        (datetime(2026, 11, 3, 1, tzinfo=UTC), datetime(2026, 11, 3, 22, tzinfo=UTC)),  # within a day
    ],
)
def test_whole_utc_days_and_edges_cover_the_window_exactly(begin: datetime, finish: datetime) -> None:
    first, stop, edges = whole_utc_days(begin, finish)
    covered = [
        (datetime.combine(first, datetime.min.time(), UTC), datetime.combine(stop, datetime.min.time(), UTC))
    ]
    pieces = sorted([piece for piece in covered if piece[0] < piece[1]] + edges)
    assert pieces[0][0] == begin and pieces[-1][1] == finish
    assert all(a[1] == b[0] for a, b in pairwise(pieces))  # no gap, no overlap
    assert len(edges) <= 2


@pytest.mark.parametrize("timezone", ["Asia/Kolkata", "America/Los_Angeles", "UTC"])
async def test_visits_and_revenue_read_through_the_rollup_equal_raw_counts(
    session: AsyncSession, demo: Demo, settings: Any, clock: MutableClock, timezone: str
) -> None:
    rep1 = demo.user("rep1")
    unit = await session.scalar(select(User.org_unit_id).where(User.id == rep1))
    assert unit is not None
    customer = await some_customer(session, rep1)
    zone = ZoneInfo(timezone)
    # Check-ins minutes either side of the period's local first and last midnights.
    for local_day in (NOV_START, AS_OF + timedelta(days=1)):
        midnight = datetime.combine(local_day, datetime.min.time(), zone).astimezone(UTC)
        for minutes in (-20, -1, 0, 1, 20):
            session.add(new_checkin(rep1, customer, midnight + timedelta(minutes=minutes)))
    session.add(new_order(customer, None, "321.09", date(2026, 11, 5)))  # no rep: the unit's by customer
    await session.flush()
    progress = Services(session=session, settings=settings, clock=clock).get(ProgressService)
    team_reps = list(await session.scalars(select(User.id).where(User.org_unit_id == unit)))

    def counted(rows: Any) -> int:
        return sum(
            1
            for rep, checked_in, checked_out in rows
            if rep in team_reps
            and checked_out is not None
            and NOV_START <= checked_in.astimezone(zone).date() <= AS_OF
        )

    visits = list(
        await session.execute(select(Checkin.rep_id, Checkin.checked_in_at, Checkin.checked_out_at))
    )
    by_rep = await progress.actuals("user", [rep1], NOV_START, AS_OF, "visits", timezone)
    assert by_rep[rep1] == counted(v for v in visits if v[0] == rep1) > 0
    by_unit = await progress.actuals("org_unit", [unit], NOV_START, AS_OF, "visits", timezone)
    assert by_unit[unit] == counted(visits)

    orders = list(
        await session.execute(
            select(Order.rep_id, Order.amount, Customer.org_unit_id)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Order.ordered_on.between(NOV_START, AS_OF))
        )
    )
    revenue = await progress.actuals("org_unit", [unit], NOV_START, AS_OF, "revenue")
    assert revenue[unit] == sum(
        (a for rep, a, home in orders if rep in team_reps or (rep is None and home == unit)), Decimal(0)
    )
    rep_revenue = await progress.actuals("user", [rep1], NOV_START, AS_OF, "revenue")
    assert rep_revenue[rep1] == sum((a for rep, a, _home in orders if rep == rep1), Decimal(0))


async def test_load_with_triggers_suspended_is_counted_once(session: AsyncSession, demo: Demo) -> None:
    """What a restore does: rows loaded without the triggers, one rebuild, triggers back on."""
    rep1 = demo.user("rep1")
    customer = await some_customer(session, rep1)
    connection = await session.connection()
    async with triggers_suspended(connection):
        session.add(new_order(customer, rep1, "40.00", date(2026, 11, 12)))
        await session.flush()
        assert await rollup(session) != await recomputed(session)  # the triggers are off
    await assert_in_step(session)
    session.add(new_order(customer, rep1, "60.00", date(2026, 11, 12)))  # and back on
    await assert_in_step(session)


async def test_bulk_seed_with_triggers_off_rebuilds_the_rollup(
    engine: AsyncEngine, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The history generated inside PostgreSQL loads as `session_replication_role = replica`,
    which turns the triggers off too: the seed rebuilds the rollup once at the end. (SQLite has
    no bulk path: `bulk=True` seeds row by row there, through the triggers.)"""
    options = SeedOptions(reps=6, customers=90, months=2, seed=5, bulk=True)
    await seed_demo(engine, settings, options, clock=Clock(fixed=datetime(2026, 11, 18, 2, tzinfo=UTC)))
    async with sessionmaker() as session:
        assert await rollup(session) == await recomputed(session) != {}
