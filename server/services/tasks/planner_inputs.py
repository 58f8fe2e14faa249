"""The planner's inputs for a batch of reps: one query per kind of input (customers with their
order history and RFM, promises, recent tasks, plan gaps, the week's visits by grade, open
deals), never one per customer or per rep."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from types import TracebackType
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import BindParameter, bindparam, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from server.core.org import OrgTree
from server.core.services import Service
from server.db.id_lists import fetched_uuid, id_batches, in_ids
from server.db.models import Customer, Opportunity, OpportunityStage, Order, Promise, Task
from server.domain.day_inputs import CustomerRow, OpenDeal, PastTask, PromiseRow, RepDayInputs, RepRow
from server.services.plans.progress import ProgressService

CARRY_WINDOW_DAYS = 7  # unfinished tasks older than this are not carried over any more
ORDER_WINDOW_DAYS = 365


class PlannerInputs(Service):
    async def load(
        self,
        reps: list[RepRow],
        day: date,
        with_candidates: bool = True,
        tree: OrgTree | None = None,
        customers: Sequence[CustomerRow] | None = None,
        gaps: dict[UUID, Decimal] | None = None,
        deals: dict[UUID, list[OpenDeal]] | None = None,
    ) -> dict[UUID, RepDayInputs]:
        """One query per kind of input for all the reps (never one per customer).

        `customers`: the reps' candidates when already read (CandidatesAhead); rows of reps not
        in `reps` (claimed by another process meanwhile) are left out; `deals`: their open deals
        by customer, read with them. `gaps`: remaining_gaps of (at least) these reps, when
        already worked out for the whole sweep.
        """
        rep_ids = [r.id for r in reps]
        inputs = {rep_id: RepDayInputs() for rep_id in rep_ids}
        params = {"rep_ids": rep_ids, "day": day}
        carry_from = day - timedelta(days=CARRY_WINDOW_DAYS)
        on_the_day = False
        for row in await self.session.execute(_RECENT_TASKS, {**params, "carry_from": carry_from}):
            if row.local_date == day:
                on_the_day = True
            else:
                inputs[row.rep_id].past_tasks.append(PastTask(*row[1:]))
        if on_the_day:  # rarely so in the sweep: the day's tasks are loaded as ORM objects only then
            for task in (await self.session.scalars(_DAY_TASKS, params)).all():
                inputs[task.rep_id].day_tasks.append(task)
        located = {t.customer_id for i in inputs.values() for t in i.day_tasks if t.customer_id}
        if located:
            coords = select(Customer.id, Customer.lat, Customer.lng).where(
                Customer.id.in_(located), Customer.lat.is_not(None), Customer.lng.is_not(None)
            )
            by_customer = {row.id: (row.lat, row.lng) for row in await self.session.execute(coords)}
            for rep_inputs in inputs.values():
                rep_inputs.coords = by_customer
        if not with_candidates:
            return inputs
        owner_of: dict[UUID, UUID] = {}
        if customers is None:
            customers = await candidates_of(await self.session.connection(), rep_ids, day)
        for customer in customers:
            if (owner := inputs.get(customer.owner_rep_id)) is not None:
                owner.customers.append(customer)
                owner_of[customer.id] = customer.owner_rep_id
        for promise in await self.session.execute(_PROMISES, params):
            inputs[promise.rep_id].promises.setdefault(
                promise.customer_id, PromiseRow(promise.id, promise.text)
            )
        if gaps is None:
            gaps = await self.remaining_gaps(rep_ids, day, tree)
        for rep_id, rep_inputs in inputs.items():
            rep_inputs.remaining_gap = gaps.get(rep_id, rep_inputs.remaining_gap)
        if deals is None:
            deals = await open_deals_of(await self.session.connection(), list(owner_of))
        for customer_id, found in deals.items():
            if (owner_id := owner_of.get(customer_id)) is not None:
                inputs[owner_id].deals[customer_id] = found
        week = {**params, "monday": day - timedelta(days=day.weekday())}
        for rep_id, grade, status, visits in await self.session.execute(_WEEK_VISITS, week):
            bucket = "prospect" if status == "prospect" else grade
            done = inputs[rep_id].week_visits
            done[bucket] = done.get(bucket, 0) + visits
        return inputs

    async def remaining_gaps(
        self, rep_ids: list[UUID], day: date, tree: OrgTree | None = None
    ) -> dict[UUID, Decimal]:
        """Approved monthly revenue target minus month-to-date actuals, per rep (progress area).
        A sweep asks once for all its reps: progress reads a whole scope's targets and actuals
        once it is asked about many (WHOLE_TARGETS_AT), so asking per batch would read them all
        again for every batch (7.6 s of 10,000 reps' planning)."""
        progress = await self.ctx.get(ProgressService).for_scopes(
            scope="user", scope_ids=rep_ids, as_of=day, metric="revenue", granularity="month", tree=tree
        )
        return {rep_id: p.progress.remaining_gap for rep_id, p in progress.items()}


async def candidates_of(connection: AsyncConnection, rep_ids: Sequence[UUID], day: date) -> list[CustomerRow]:
    """The reps' active customers and prospects with their last 365 days of orders, in one query
    (on a connection: plain rows, without the ORM's per-row result handling)."""
    since = day - timedelta(days=ORDER_WINDOW_DAYS)
    stmt = _CUSTOMERS[connection.dialect.name == "postgresql"]
    result = await connection.execute(stmt, {"rep_ids": list(rep_ids), "day": day, "since": since})
    return [CustomerRow(*row) for row in result]


async def open_deals_of(
    connection: AsyncConnection, customer_ids: Sequence[UUID]
) -> dict[UUID, list[OpenDeal]]:
    """The customers' open deals (a customer's all in one batch of ids, in the order of their ids)."""
    postgresql = connection.dialect.name == "postgresql"
    deals: dict[UUID, list[OpenDeal]] = {}
    for part in id_batches(list(customer_ids), postgresql):
        rows = await connection.execute(_OPEN_DEALS[postgresql], {"customer_ids": part})
        for customer_id, title, stage, amount, probability, close, changed in rows:
            deal = OpenDeal(
                customer_id, title, stage, Decimal(amount), Decimal(probability) / 100, close, changed.date()
            )
            deals.setdefault(customer_id, []).append(deal)
    return deals


class Ahead(NamedTuple):
    """A batch's candidates and, when read ahead, their open deals (else None: read in turn)."""

    customers: list[CustomerRow]
    deals: dict[UUID, list[OpenDeal]] | None


class CandidatesAhead:
    """The candidates of each batch of reps, the next batch's read while this one is composed.

    On PostgreSQL the read (most of a batch's database time) runs on a second connection, so the
    server works on batch k + 1 while Python ranks batch k. Customers, orders and open deals are
    what it reads, and the sweep writes none, so the second connection's view is the session's. (The
    rest of the inputs stays on the session: the sweep's own uncommitted writes, the days it has
    just closed, decide the carry-overs.) SQLite, one writer and small batches: read in turn.

        async with CandidatesAhead(session, day, batches) as ahead:
            for batch in batches:
                customers, deals = await ahead.next()
    """

    def __init__(self, session: AsyncSession, day: date, batches: Sequence[Sequence[UUID]]) -> None:
        self.session, self.day, self.batches = session, day, list(batches)
        self._connection: AsyncConnection | None = None
        self._pending: asyncio.Task[Ahead] | None = None
        self._taken = 0

    async def __aenter__(self) -> CandidatesAhead:
        bind = self.session.bind  # an engine (the app's and the jobs' sessions) opens a second connection
        if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql" and len(self.batches) > 1:
            self._connection = await bind.connect()
            self._start(0)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._pending is not None:
            self._pending.cancel()
            await asyncio.gather(self._pending, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()

    async def next(self) -> Ahead:
        """The candidates of the next batch, in the order the batches were given."""
        index, self._taken = self._taken, self._taken + 1
        if self._connection is None:
            connection = await self.session.connection()
            return Ahead(await candidates_of(connection, self.batches[index], self.day), None)
        assert self._pending is not None
        found = await self._pending
        self._pending = None
        if index + 1 < len(self.batches):
            self._start(index + 1)
        return found

    def _start(self, index: int) -> None:
        assert self._connection is not None
        self._pending = asyncio.create_task(self._read(self._connection, self.batches[index]))

    async def _read(self, connection: AsyncConnection, rep_ids: Sequence[UUID]) -> Ahead:
        customers = await candidates_of(connection, rep_ids, self.day)
        return Ahead(customers, await open_deals_of(connection, [c.id for c in customers]))


# Statements built once at import: a sweep only binds values, so SQLAlchemy neither rebuilds
# them nor recomputes their cache keys (on a small world that cost more than running them).
_REP_IDS: BindParameter[Any] = bindparam("rep_ids", expanding=True)
_DAY: BindParameter[Any] = bindparam("day")

# The day's tasks are re-ranked in place, so they are ORM objects; earlier days only feed
# carry-overs and are never changed here: plain rows, cheaper to load.
_DAY_TASKS = select(Task).where(Task.rep_id.in_(_REP_IDS), Task.local_date == _DAY)

_RECENT_TASKS = select(
    Task.rep_id,
    Task.id,
    Task.customer_id,
    Task.local_date,
    Task.status,
    Task.carried_from_id,
    Task.kind,
    Task.title,
    Task.promise_id,
).where(
    Task.rep_id.in_(_REP_IDS),
    Task.local_date.between(bindparam("carry_from"), _DAY),
    (Task.local_date == _DAY) | (Task.status == "missed") | Task.carried_from_id.is_not(None),
)

# Completed customer tasks of the week's earlier days, by the customer's grade (the effort split).
_WEEK_VISITS = (
    select(Task.rep_id, Customer.grade, Customer.status, func.count())
    .join(Customer, Customer.id == Task.customer_id)
    .where(
        Task.rep_id.in_(_REP_IDS),
        Task.local_date >= bindparam("monday"),
        Task.local_date < _DAY,
        Task.status == "done",
    )
    .group_by(Task.rep_id, Customer.grade, Customer.status)
)

# Open opportunities of the candidates (a deal near its close or stale is a visit candidate; every
# open deal's weighted amount counts towards the plan gap). Asked by the candidates' ids, which
# are exactly the reps' active customers and prospects: joining customers again by owner re-read
# the batch's customers from the heap (0.26 s per batch of 500 reps at 10,000 reps).
_OPEN_DEALS = {
    postgresql: select(
        Opportunity.customer_id,
        Opportunity.title,
        OpportunityStage.name.label("stage"),
        Opportunity.amount,
        Opportunity.probability,
        Opportunity.expected_close,
        Opportunity.stage_changed_at,
    )
    .join(OpportunityStage, OpportunityStage.id == Opportunity.stage_id)
    .where(in_ids(Opportunity.customer_id, "customer_ids", postgresql), OpportunityStage.kind == "open")
    .order_by(Opportunity.id)
    for postgresql in (False, True)
}

_PROMISES = (
    select(Promise.id, Promise.rep_id, Promise.customer_id, Promise.text)
    .where(Promise.rep_id.in_(_REP_IDS), Promise.status == "open", Promise.due_on <= _DAY)
    .order_by(Promise.due_on)
)

_HISTORY = (
    select(
        Order.customer_id,
        func.count().label("orders"),
        func.sum(Order.amount).label("revenue"),
        func.min(Order.ordered_on).label("first_on"),
        func.max(Order.ordered_on).label("last_on"),
    )
    .where(
        Order.customer_id.in_(
            select(Customer.id).where(Customer.owner_rep_id.in_(_REP_IDS)).scalar_subquery()
        ),
        Order.ordered_on > bindparam("since"),
        Order.ordered_on <= _DAY,
    )
    .group_by(Order.customer_id)
    .subquery()
)


# PostgreSQL: each customer's year read from the index (customer_id, ordered_on) INCLUDE (amount),
# one index-only range per customer. The aggregate above hash-joins the batch's customers to a
# sequential scan of every order of the year, once per batch: 1.9 s of a batch of 500 reps at
# 10,000 reps, against 0.4 s this way. (SQLite has no LATERAL; its batches are small.)
_HISTORY_PER_CUSTOMER = (
    select(
        func.nullif(func.count(), 0).label("orders"),  # NULL without orders, as the outer join gives
        func.sum(Order.amount).label("revenue"),
        func.min(Order.ordered_on).label("first_on"),
        func.max(Order.ordered_on).label("last_on"),
    )
    .where(Order.customer_id == Customer.id, Order.ordered_on > bindparam("since"), Order.ordered_on <= _DAY)
    .lateral("history")
)


def _customers_select(postgresql: bool) -> Any:
    # asyncpg already returns UUIDs (fetched_uuid); SQLite's stored bytes need the GUID type.
    history = _HISTORY_PER_CUSTOMER if postgresql else _HISTORY
    uuid = partial(fetched_uuid, postgresql=postgresql)
    query = select(
        uuid(Customer.id),
        uuid(Customer.owner_rep_id),
        Customer.grade,
        Customer.status,
        Customer.lat,
        Customer.lng,
        Customer.last_visit_on,
        Customer.next_visit_due,
        Customer.last_order_on,
        history.c.orders,
        history.c.revenue,
        history.c.first_on,
        history.c.last_on,
        Customer.r_score,
        Customer.f_score,
        Customer.m_score,
    )
    joined = query.outerjoin(history, true() if postgresql else _HISTORY.c.customer_id == Customer.id)
    return joined.where(Customer.owner_rep_id.in_(_REP_IDS), Customer.status.in_(("active", "prospect")))


_CUSTOMERS = (_customers_select(False), _customers_select(True))  # [SQLite, PostgreSQL]
