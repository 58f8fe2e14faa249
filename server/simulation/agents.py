"""Simulated people: the morning planning step and a rep working through the day's list.

Everything goes through the product's services and the real clock: the product planner through
the plan-day job (run_job with `at`), a baseline through TasksService; each visit is a check-in
and a check-out through CheckinsService at the simulated instant; orders that arrive without a
visit go through OrdersService. Nothing here writes a table directly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.config import Settings
from server.core.access import Principal, Scope
from server.core.services import provide_services
from server.db.models import Customer, User
from server.domain.checkin import CheckinIn, CheckoutIn
from server.domain.routing import haversine_m
from server.jobs.registry import run_job
from server.services.checkins.orders import OrdersService
from server.services.checkins.visits import CheckinsService
from server.services.tasks.tasks import NewTask, TasksService
from server.simulation.baselines import Baseline, CandidateRow
from server.simulation.world import World

DOOR_KINDS = ("visit", "follow_up", "collect")  # tasks done at the customer's door
FOLLOW_UP_TEXT = "Send a quote"


@dataclass(frozen=True)
class Rep:
    id: UUID
    email: str
    name: str
    timezone: str
    org_unit_id: UUID | None
    start_lat: float | None
    start_lng: float | None
    daily_capacity: int

    @property
    def principal(self) -> Principal:
        return Principal(
            id=self.id,
            email=self.email,
            name=self.name,
            role="rep",
            org_unit_id=self.org_unit_id,
            timezone=self.timezone,
            locale=None,
            auth="bearer",
        )

    def local(self, day: date, hours: float) -> datetime:
        """`hours` after local midnight of `day`, in the rep's time zone."""
        return datetime.combine(day, time(0), ZoneInfo(self.timezone)) + timedelta(hours=hours)


async def load_reps(session: AsyncSession) -> list[Rep]:
    rows = await session.execute(
        select(
            User.id,
            User.email,
            User.name,
            User.timezone,
            User.org_unit_id,
            User.start_lat,
            User.start_lng,
            User.daily_capacity,
        )
        .where(User.role == "rep", User.active.is_(True))
        .order_by(User.id)
    )
    return [Rep(*row) for row in rows]


@dataclass
class DayLog:
    """What one rep did on one day."""

    visits: int = 0
    orders: int = 0
    revenue: Decimal = Decimal(0)
    metres: float = 0.0
    not_available: int = 0
    follow_ups: int = 0
    left_open: int = 0  # door tasks not reached before the end of the working day
    visited: list[UUID] = field(default_factory=list)


# ---- the morning: make the day's list ----


async def plan_with_product(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, at: datetime
) -> dict[str, object]:
    """The product's own morning: the plan-day job (close-day, then plan every due rep)."""
    return await run_job("plan-day", sessionmaker, settings, at) or {}


async def plan_with_baseline(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    baseline: Baseline,
    reps: list[Rep],
    day: date,
    at: datetime,
) -> int:
    """Close ended days as plan-day does, then write each rep's baseline choice via TasksService."""
    written = 0
    async with provide_services(sessionmaker, settings, Clock(fixed=at)) as services:
        tasks = services.get(TasksService)
        await tasks.close_days()
        candidates = await load_candidates(services.session, [r.id for r in reps])
        for rep in reps:
            principal = rep.principal
            access = Scope(principal)
            user = await tasks.user(rep.id)
            picked = baseline.select(rep.id, day, candidates.get(rep.id, []), user.daily_capacity)
            for customer_id in picked:
                _, created = await tasks.add(
                    user, NewTask(local_date=day, customer_id=customer_id, kind="visit"), principal, access
                )
                written += int(created)
    return written


async def load_candidates(session: AsyncSession, rep_ids: list[UUID]) -> dict[UUID, list[CandidateRow]]:
    """The reps' active customers and prospects, as the product planner's candidate set."""
    rows = await session.execute(
        select(
            Customer.owner_rep_id,
            Customer.id,
            Customer.external_ref,
            Customer.grade,
            Customer.status,
            Customer.last_visit_on,
        )
        .where(Customer.owner_rep_id.in_(rep_ids), Customer.status.in_(("active", "prospect")))
        .order_by(Customer.id)
    )
    found: dict[UUID, list[CandidateRow]] = {}
    for owner, customer_id, external_ref, grade, status, last_visit_on in rows:
        assert owner is not None  # the query keeps these reps' customers only
        found.setdefault(owner, []).append(
            CandidateRow(customer_id, external_ref, grade, status, last_visit_on)
        )
    return found


# ---- the day: follow the list ----


async def work_day(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    world: World,
    rep: Rep,
    day: date,
    ids: random.Random,
) -> DayLog:
    """Follow today's list in route order while the working day lasts: drive, check in, check out."""
    params = world.params
    start = rep.local(day, params.day_start_hour)
    end = start + timedelta(hours=params.day_hours)
    now = [start.astimezone(UTC)]
    clock = Clock(source=lambda: now[0])  # the real Clock, moved to each event's instant
    log = DayLog()
    principal = rep.principal
    access = Scope(principal)
    async with provide_services(sessionmaker, settings, clock) as services:
        tasks = services.get(TasksService)
        checkins = services.get(CheckinsService)
        view = await tasks.day(await tasks.user(rep.id), day)
        stops = [
            item
            for item in view.items
            if item.is_open
            and item.task.customer_id is not None
            and item.task.kind in DOOR_KINDS
            and item.lat is not None
            and item.lng is not None
        ]
        # The phone has the day's customers at hand (the Today page shows them); holding them
        # keeps them in this session, so check-in and check-out find them without a query.
        held = (
            await services.session.scalars(
                select(Customer).where(Customer.id.in_({item.task.customer_id for item in stops}))
            )
        ).all()
        here = (
            (rep.start_lat, rep.start_lng)
            if rep.start_lat is not None and rep.start_lng is not None
            else None
        )
        at = start
        for index, item in enumerate(stops):
            assert item.lat is not None and item.lng is not None and item.task.customer_id is not None
            metres = haversine_m(here[0], here[1], item.lat, item.lng) if here else 0.0
            arrive = at + timedelta(minutes=world.travel_minutes(metres))
            leave = arrive + timedelta(minutes=params.visit_minutes)
            if leave > end:
                log.left_open = len(stops) - index
                break
            checkin_id = UUID(int=ids.getrandbits(128), version=4)
            dlat, dlng = world.gps_jitter(checkin_id)
            now[0] = arrive.astimezone(UTC)
            # The phone keeps its arrival until it leaves (and this session then finds it by id).
            arrival, _ = await checkins.check_in(
                principal,
                access,
                CheckinIn(
                    id=checkin_id,
                    customer_id=item.task.customer_id,
                    task_id=item.task.id,
                    checked_in_at=arrive,
                    lat=item.lat + dlat,
                    lng=item.lng + dlng,
                    accuracy_m=15.0,
                ),
            )
            outcome = world.visit(arrival.checkin.customer_id, day)
            now[0] = leave.astimezone(UTC)
            await checkins.check_out(
                principal,
                checkin_id,
                CheckoutIn(
                    checked_out_at=leave,
                    outcome=outcome.outcome,
                    order_amount=outcome.amount,
                    next_step=FOLLOW_UP_TEXT if outcome.next_step_due else None,
                    next_step_due=outcome.next_step_due,
                ),
            )
            log.visits += 1
            log.metres += metres
            log.visited.append(item.task.customer_id)
            if outcome.amount is not None:
                log.orders += 1
                log.revenue += outcome.amount
            log.not_available += outcome.outcome == "not_available"
            log.follow_ups += outcome.outcome == "follow_up"
            here, at = (item.lat, item.lng), leave
    del held
    return log


async def record_unvisited_orders(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    orders: list[tuple[UUID, Decimal]],
    owners: dict[UUID, Rep],
    day: date,
    at: datetime,
) -> None:
    """Orders that arrived by phone, e-mail or web shop: written through OrdersService (source api)."""
    if not orders:
        return
    async with provide_services(sessionmaker, settings, Clock(fixed=at)) as services:
        service = services.get(OrdersService)
        for customer_id, amount in orders:
            rep = owners[customer_id]
            principal = rep.principal
            await service.upsert(
                principal,
                Scope(principal),
                {
                    "customer_id": customer_id,
                    "rep_id": rep.id,
                    "amount": amount,
                    "currency": "USD",
                    "ordered_on": day,
                },
            )
