"""The daily planner: one plan per rep per local date, made set-based for many reps at once.

A sweep groups the due reps by local date and, per batch of reps, runs one query per kind of
input (customers with their order history, promises, recent tasks, plan gaps). Each rep's day
is then composed in memory (server.services.tasks.compose) and written with bulk statements.
The daily_plans row is claimed first with INSERT ... ON CONFLICT DO NOTHING RETURNING, so two
processes planning at once never both write a rep's day.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.core import i18n
from server.core.i18n import gettext as _
from server.core.services import Service
from server.db.models import (
    Checkin,
    Customer,
    DailyPlan,
    Order,
    Promise,
    Task,
    User,
    VisitPolicy,
)
from server.domain.calendar import is_working_day
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.services.notifications.outbox import Draft, NotificationsService
from server.services.plans.calendar import OrgTree, load_holidays
from server.services.plans.progress import ProgressService
from server.services.tasks.compose import (
    ALGORITHM,
    CustomerRow,
    PastTask,
    PromiseRow,
    RepDayInputs,
    RepRow,
    compose_day,
)

log = structlog.get_logger("fieldsales.planner")

PLAN_FROM = time(6, 0)  # a rep's plan is made once their local time passes this
BATCH_REPS = 500  # reps per set of queries: bounds memory and bind parameters
CARRY_WINDOW_DAYS = 7  # unfinished tasks older than this are not carried over any more
ORDER_WINDOW_DAYS = 365
REPLACEABLE_SOURCES = ("planner", "carry_over")


def local_start_reached(now: datetime, tz: str) -> date | None:
    """The rep's local date if their local time is past PLAN_FROM, else None."""
    local = now.astimezone(ZoneInfo(tz))
    return local.date() if local.time() >= PLAN_FROM else None


class PlannerService(Service):
    """Makes, regenerates and re-routes rep days. Flushes, never commits."""

    async def plan_due_reps(self, notify: bool = True) -> dict[str, int]:
        """Plan every active rep past 06:00 local without a plan for their local date."""
        totals = {"planned_reps": 0, "tasks": 0, "notified": 0}
        tree: OrgTree | None = None
        for day, zones in (await self._zones_by_plan_date()).items():
            has_plan = exists().where(DailyPlan.rep_id == User.id, DailyPlan.local_date == day)
            rows = await self.session.execute(
                _rep_columns()
                .where(User.role == "rep", User.active.is_(True), User.timezone.in_(zones), ~has_plan)
                .order_by(User.id)  # one lock order for every process: no deadlock between sweeps
            )
            reps = [RepRow(*row) for row in rows]
            if not reps or not is_working_day(day):  # the sweep plans no weekend (see _working_on)
                continue
            tree = tree or await OrgTree.load(self.session)  # one load for the whole sweep
            reps = await self._working_on(reps, day, tree)
            for offset in range(0, len(reps), BATCH_REPS):
                batch = reps[offset : offset + BATCH_REPS]
                plan_ids = await self._claim_plans(batch, day)
                won = [rep for rep in batch if rep.id in plan_ids]
                created = await self._plan(won, day, plan_ids, tree)
                totals["planned_reps"] += len(won)
                totals["tasks"] += sum(created.values())
                if notify:
                    totals["notified"] += await self._notify_ready(won, day, created)
        return totals

    async def _working_on(self, reps: list[RepRow], day: date, tree: OrgTree) -> list[RepRow]:
        """The reps for whom weekday `day` is not a holiday of their unit (or any unit above it).

        Weekends and holidays get no plan from the sweep: a list nobody works would only turn
        into missed tasks and crowd the next working day with carry-overs. Friday's unfinished
        tasks still carry over to Monday (CARRY_WINDOW_DAYS). A rep who opens Today on a day off
        is planned on demand (ensure_plan).
        """
        units = {rep.org_unit_id for rep in reps if rep.org_unit_id is not None}
        if not units:
            return reps
        holidays = await load_holidays(self.session, tree, units, day, day)
        return [
            rep for rep in reps if rep.org_unit_id is None or day not in holidays.get(rep.org_unit_id, ())
        ]

    async def due_date(self, rep_id: UUID) -> date | None:
        """The rep's local date if it is past 06:00 there and that day has no plan yet."""
        rep = await self._rep(rep_id)
        day = local_start_reached(self.clock.now(), rep.timezone)
        if day is None:
            return None
        planned = await self.session.scalar(
            select(DailyPlan.id).where(DailyPlan.rep_id == rep_id, DailyPlan.local_date == day)
        )
        return None if planned else day

    async def is_day_off(self, rep_id: UUID, day: date) -> bool:
        """A weekend, or a holiday of the rep's unit (or any unit above it)."""
        rep = await self._rep(rep_id)
        if rep.org_unit_id is None:
            return not is_working_day(day)
        holidays = await load_holidays(
            self.session, await OrgTree.load(self.session), [rep.org_unit_id], day, day
        )
        return not is_working_day(day, holidays.get(rep.org_unit_id, frozenset()))

    async def ensure_plan(self, rep_id: UUID, day: date) -> bool:
        """Plan the rep's day on demand unless someone else (the job) planned it first."""
        rep = await self._rep(rep_id)
        plan_ids = await self._claim_plans([rep], day)
        if rep.id not in plan_ids:
            return False
        await self._plan([rep], day, plan_ids)
        return True

    async def regenerate(self, rep_id: UUID, day: date) -> dict[str, Any]:
        """Re-plan a day: keeps done, skipped, snoozed and hand-added tasks, replaces the rest."""
        rep = await self._rep(rep_id)
        plan_id = await self._upsert_plan(rep, day)
        in_visit = select(Checkin.task_id).where(  # the rep's recent check-ins (indexed)
            Checkin.rep_id == rep.id,
            Checkin.checked_in_at >= self.clock.now() - timedelta(days=2),
            Checkin.task_id.is_not(None),
        )
        await self.session.execute(
            delete(Task)
            .where(
                Task.rep_id == rep.id,
                Task.local_date == day,
                Task.status == "planned",
                Task.source.in_(REPLACEABLE_SOURCES),
                Task.id.not_in(in_visit),  # a visit in progress keeps its task
            )
            .execution_options(synchronize_session=False)
        )
        created = await self._plan([rep], day, {rep.id: plan_id})
        return {"rep_id": rep.id, "local_date": day, "created": created.get(rep.id, 0)}

    async def reroute(self, rep_id: UUID, day: date) -> None:
        """Re-rank and re-route a day's open tasks without adding any (after a pin or an undo)."""
        rep = await self._rep(rep_id)
        inputs = (await self._load_inputs([rep], day, with_candidates=False))[rep.id]
        compose_day(rep, day, inputs, {}, now=self.clock.now(), fill=False)
        await self.session.flush()

    # ---- claiming the plan row ----

    async def _claim_plans(self, reps: list[RepRow], day: date) -> dict[UUID, UUID]:
        """Insert the reps' plan rows; returns {rep_id: plan_id} for the rows this call created."""
        if not reps:
            return {}
        now = self.clock.now()
        rows = [
            {
                "id": uuid4(),
                "rep_id": r.id,
                "local_date": day,
                "generated_at": now,
                "algorithm": ALGORITHM,
                "stats": {},
            }
            for r in sorted(reps, key=lambda r: r.id)
        ]
        # A list of parameter sets, not .values(rows): SQLAlchemy batches it into one multi-row
        # INSERT ... RETURNING per page from a statement compiled once; a multi-row .values()
        # is compiled anew on every call.
        plans = DailyPlan.__table__
        stmt = (
            self._insert(plans)
            .on_conflict_do_nothing(index_elements=["rep_id", "local_date"])
            .returning(plans.c.rep_id, plans.c.id)
        )
        return {rep_id: plan_id for rep_id, plan_id in await self.session.execute(stmt, rows)}

    async def _upsert_plan(self, rep: RepRow, day: date) -> UUID:
        now = self.clock.now()
        stmt = self._insert(DailyPlan).values(
            id=uuid4(), rep_id=rep.id, local_date=day, generated_at=now, algorithm=ALGORITHM, stats={}
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["rep_id", "local_date"], set_={"generated_at": now, "algorithm": ALGORITHM}
        ).returning(DailyPlan.id)
        return (await self.session.execute(stmt)).scalar_one()

    def _insert(self, model: type) -> Any:
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        return pg_insert(model) if dialect == "postgresql" else sqlite_insert(model)

    # ---- planning a batch of reps for one date ----

    async def _plan(
        self, reps: list[RepRow], day: date, plan_ids: dict[UUID, UUID], tree: OrgTree | None = None
    ) -> dict[UUID, int]:
        """Compose and store the day of each rep; returns {rep_id: tasks created}."""
        if not reps:
            return {}
        tree = tree or await OrgTree.load(self.session)
        inputs = await self._load_inputs(reps, day, tree=tree)
        policies = await self._policies(tree)
        now = self.clock.now()
        new_rows: list[dict[str, Any]] = []
        plan_stats: list[dict[str, Any]] = []
        created: dict[UUID, int] = {}
        for rep in reps:
            composition = compose_day(rep, day, inputs[rep.id], self._intervals(policies, rep), now=now)
            new_rows += composition.new_rows
            created[rep.id] = len(composition.new_rows)
            plan_stats.append({"plan_id": plan_ids[rep.id], "plan_stats": composition.stats, "plan_at": now})
        if new_rows:
            # Core INSERT, one executemany for every row. The ORM's bulk INSERT leaves out None
            # values and starts a new statement whenever the set of non-None keys changes (every
            # switch between a promise follow-up and a visit, say): dozens per sweep.
            await self.session.execute(insert(Task.__table__), new_rows)
        await self.session.execute(_PLAN_STATS, plan_stats)  # one executemany for all the plans
        await self.session.flush()  # kept tasks were re-ranked in place
        log.info("plans_made", local_date=day.isoformat(), reps=len(reps), tasks=len(new_rows))
        return created

    async def _load_inputs(
        self, reps: list[RepRow], day: date, with_candidates: bool = True, tree: OrgTree | None = None
    ) -> dict[UUID, RepDayInputs]:
        """One query per kind of input for all the reps (never one per customer)."""
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
        for customer in await self._customers(rep_ids, day):
            inputs[customer.owner_rep_id].customers.append(customer)
        for row in await self.session.execute(_PROMISES, params):
            inputs[row.rep_id].promises.setdefault(row.customer_id, PromiseRow(row.id, row.text))
        for rep_id, gap in (await self._remaining_gaps(rep_ids, day, tree)).items():
            inputs[rep_id].remaining_gap = gap
        return inputs

    async def _customers(self, rep_ids: list[UUID], day: date) -> list[CustomerRow]:
        """Active customers and prospects with their last 365 days of orders, in one query."""
        since = day - timedelta(days=ORDER_WINDOW_DAYS)
        rows = await self.session.execute(_CUSTOMERS, {"rep_ids": rep_ids, "day": day, "since": since})
        return [CustomerRow(*row) for row in rows]

    async def _remaining_gaps(
        self, rep_ids: list[UUID], day: date, tree: OrgTree | None = None
    ) -> dict[UUID, Decimal]:
        """Approved monthly revenue target minus month-to-date actuals, per rep (progress area)."""
        progress = await self.ctx.get(ProgressService).for_scopes(
            scope="user", scope_ids=rep_ids, as_of=day, metric="revenue", granularity="month", tree=tree
        )
        return {rep_id: p.progress.remaining_gap for rep_id, p in progress.items()}

    # ---- small lookups ----

    async def _zones_by_plan_date(self) -> dict[date, list[str]]:
        """Reps' time zones whose local time is past 06:00, grouped by their local date."""
        now = self.clock.now()
        zones = await self.session.scalars(
            select(User.timezone).where(User.role == "rep", User.active.is_(True)).distinct()
        )
        grouped: dict[date, list[str]] = defaultdict(list)
        for zone in zones:
            try:
                day = local_start_reached(now, zone)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("rep_timezone_invalid", timezone=zone)
                continue
            if day is not None:
                grouped[day].append(zone)
        return grouped

    async def _rep(self, rep_id: UUID) -> RepRow:
        row = (await self.session.execute(_rep_columns().where(User.id == rep_id))).one()
        return RepRow(*row)

    async def _policies(self, tree: OrgTree) -> dict[UUID | None, dict[str, int]]:
        """Visit interval per grade, keyed by the unit ids of each company's whole tree."""
        by_company: dict[UUID | None, dict[str, int]] = defaultdict(lambda: dict(DEFAULT_VISIT_INTERVALS))
        for company_id, grade, days in await self.session.execute(
            select(VisitPolicy.company_id, VisitPolicy.grade, VisitPolicy.interval_days)
        ):
            by_company[company_id][grade] = days
        return {unit_id: by_company[tree.company_of(unit_id)] for unit_id in tree.units}

    @staticmethod
    def _intervals(policies: dict[UUID | None, dict[str, int]], rep: RepRow) -> dict[str, int]:
        return policies.get(rep.org_unit_id) or dict(DEFAULT_VISIT_INTERVALS)

    async def _notify_ready(self, reps: list[RepRow], day: date, created: dict[UUID, int]) -> int:
        """One "plan ready" message per rep per date (dedup key), in the rep's language."""
        drafts = []
        for rep in reps:
            token = i18n.current_locale.set(i18n.negotiate(rep.locale, None))
            try:
                title = _("Your plan for today is ready")
                body = i18n.ngettext(
                    "%(num)d task, in route order.", "%(num)d tasks, in route order.", created.get(rep.id, 0)
                )
            finally:
                i18n.current_locale.reset(token)
            key = f"plan-ready:{rep.id}:{day.isoformat()}"
            drafts.append(Draft(rep.id, "plan_ready", title, body, key, url="/", tag="plan"))
        queued = await self.ctx.get(NotificationsService).notify_many(drafts)
        return sum(1 for q in queued if q.created)


def _rep_columns() -> Any:
    return select(
        User.id,
        User.timezone,
        User.org_unit_id,
        User.start_lat,
        User.start_lng,
        User.daily_capacity,
        User.locale,
    )


# Statements built once at import: a sweep only binds values, so SQLAlchemy neither rebuilds
# them nor recomputes their cache keys (on a small world that cost more than running them).
_REP_IDS = bindparam("rep_ids", expanding=True)
_DAY = bindparam("day")

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

_CUSTOMERS = (
    select(
        Customer.id,
        Customer.owner_rep_id,
        Customer.grade,
        Customer.status,
        Customer.lat,
        Customer.lng,
        Customer.last_visit_on,
        Customer.next_visit_due,
        Customer.last_order_on,
        _HISTORY.c.orders,
        _HISTORY.c.revenue,
        _HISTORY.c.first_on,
        _HISTORY.c.last_on,
    )
    .outerjoin(_HISTORY, _HISTORY.c.customer_id == Customer.id)
    .where(Customer.owner_rep_id.in_(_REP_IDS), Customer.status.in_(("active", "prospect")))
)

# Core UPDATE by primary key, executemany: the ORM's bulk UPDATE adds per-call bookkeeping.
_PLAN_STATS = (
    update(DailyPlan.__table__)
    .where(DailyPlan.__table__.c.id == bindparam("plan_id"))
    .values(stats=bindparam("plan_stats"), generated_at=bindparam("plan_at"))
)
