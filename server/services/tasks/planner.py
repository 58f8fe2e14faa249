"""The daily planner: one plan per rep per local date, made set-based for many reps at once.

A sweep groups the due reps by local date and, per batch of reps, runs one query per kind of
input (customers with their order history, promises, recent tasks, plan gaps). Each rep's day
is then composed in memory (server.domain.compose) and written with bulk statements.
The daily_plans row is claimed first with INSERT ... ON CONFLICT DO NOTHING RETURNING, so two
processes planning at once never both write a rep's day.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import bindparam, delete, exists, select, update

from server.core import i18n
from server.core.gc_pause import paused_gc
from server.core.i18n import gettext as _
from server.core.org import OrgTree, company_settings
from server.core.services import Service
from server.core.upsert import conflict_insert, insert_or_skip
from server.db.bulk import insert_rows
from server.db.models import (
    Checkin,
    DailyPlan,
    Task,
    User,
    VisitPolicy,
)
from server.domain.calendar import is_working_day
from server.domain.compose import ALGORITHM, compose_day
from server.domain.day_inputs import RepRow
from server.domain.deals import DEFAULT_DEAL_RULE, DealRule
from server.domain.effort import DEFAULT_SPLIT
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.domain.scoring import Bucket
from server.services.notifications.outbox import Draft, NotificationsService
from server.services.plans.calendar import load_holidays
from server.services.tasks.planner_inputs import Ahead, CandidatesAhead, PlannerInputs

log = structlog.get_logger("fieldsales.planner")

PLAN_FROM = time(6, 0)  # a rep's plan is made once their local time passes this
BATCH_REPS = 500  # reps per set of queries: bounds memory and bind parameters
# Composing a batch is Python alone: handing the event loop back this often lets the read of the
# next batch's candidates, on its own connection, send and receive while the ranking goes on.
YIELD_EVERY_REPS = 10
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
            batches = [reps[offset : offset + BATCH_REPS] for offset in range(0, len(reps), BATCH_REPS)]
            sweep = await self._sweep(reps, day, tree)  # what every batch shares, read once
            async with CandidatesAhead(self.session, day, [[r.id for r in b] for b in batches]) as ahead:
                for batch in batches:
                    candidates = await ahead.next()  # the next batch's are read meanwhile
                    plan_ids = await self._claim_plans(batch, day)
                    won = [rep for rep in batch if rep.id in plan_ids]
                    with paused_gc():  # ~50,000 candidates' objects a batch (server/core/gc_pause.py)
                        created = await self._plan(won, day, plan_ids, sweep, candidates)
                        # Freed now, so the collector, back on, has no batch of survivors to walk.
                        del candidates
                    totals["planned_reps"] += len(won)
                    totals["tasks"] += sum(created.values())
                    if notify:
                        totals["notified"] += await self._notify_ready(won, day, created)
        return totals

    async def _working_on(self, reps: list[RepRow], day: date, tree: OrgTree) -> list[RepRow]:
        """The reps for whom weekday `day` is not a holiday of their unit (or any unit above it).

        Weekends and holidays get no plan from the sweep: a list nobody works would only turn
        into missed tasks and crowd the next working day with carry-overs. Friday's unfinished
        tasks still carry over to Monday (CARRY_WINDOW_DAYS in planner_inputs.py). A rep who opens Today on a day off
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
        inputs = (await self.ctx.get(PlannerInputs).load([rep], day, with_candidates=False))[rep.id]
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
        stmt = insert_or_skip(self.session, plans, ["rep_id", "local_date"]).returning(
            plans.c.rep_id, plans.c.id
        )
        return {rep_id: plan_id for rep_id, plan_id in await self.session.execute(stmt, rows)}

    async def _upsert_plan(self, rep: RepRow, day: date) -> UUID:
        now = self.clock.now()
        stmt = (
            conflict_insert(self.session, DailyPlan)
            .values(
                id=uuid4(), rep_id=rep.id, local_date=day, generated_at=now, algorithm=ALGORITHM, stats={}
            )
            .on_conflict_do_update(
                index_elements=["rep_id", "local_date"], set_={"generated_at": now, "algorithm": ALGORITHM}
            )
            .returning(DailyPlan.id)
        )
        return (await self.session.execute(stmt)).scalar_one()

    # ---- planning a batch of reps for one date ----

    async def _plan(
        self,
        reps: list[RepRow],
        day: date,
        plan_ids: dict[UUID, UUID],
        sweep: _Sweep | None = None,
        ahead: Ahead | None = None,
    ) -> dict[UUID, int]:
        """Compose and store the day of each rep; returns {rep_id: tasks created}. `sweep` and
        `ahead`: what the sweep read for all its reps, and the reps' candidates (with their
        deals), when already read."""
        if not reps:
            return {}
        tree, gaps, policies, rules = sweep or await self._sweep(reps, day, await OrgTree.load(self.session))
        customers, deals = ahead if ahead is not None else (None, None)
        inputs = await self.ctx.get(PlannerInputs).load(
            reps, day, tree=tree, customers=customers, gaps=gaps, deals=deals
        )
        now = self.clock.now()
        new_rows: list[dict[str, Any]] = []
        plan_stats: list[dict[str, Any]] = []
        created: dict[UUID, int] = {}
        for number, rep in enumerate(reps):
            if number % YIELD_EVERY_REPS == 0:  # let the next batch's read (CandidatesAhead) go on
                await asyncio.sleep(0)
            split, deal_rule = rules.get(tree.company_of(rep.org_unit_id), _DEFAULTS)
            composition = compose_day(
                rep,
                day,
                inputs[rep.id],
                self._intervals(policies, rep),
                now=now,
                split=split,
                deal_rule=deal_rule,
            )
            new_rows += composition.new_rows
            created[rep.id] = len(composition.new_rows)
            plan_stats.append({"plan_id": plan_ids[rep.id], "plan_stats": composition.stats, "plan_at": now})
        await insert_rows(self.session, Task.__table__, new_rows)  # COPY on PostgreSQL
        await self.session.execute(_PLAN_STATS, plan_stats)  # one executemany for all the plans
        await self.session.flush()  # kept tasks were re-ranked in place
        log.info("plans_made", local_date=day.isoformat(), reps=len(reps), tasks=len(new_rows))
        return created

    async def _sweep(self, reps: list[RepRow], day: date, tree: OrgTree) -> _Sweep:
        """The org tree, the reps' remaining gaps, visit policies and company rules: read once for
        all the reps of a sweep, not per batch (progress reads a whole scope's targets once it is
        asked about many reps: per batch of 500, every rep's again for each of 20 batches)."""
        gaps = await self.ctx.get(PlannerInputs).remaining_gaps([r.id for r in reps], day, tree)
        return _Sweep(tree, gaps, await self._policies(tree), await self._company_rules(tree, reps))

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

    async def _company_rules(
        self, tree: OrgTree, reps: list[RepRow]
    ) -> dict[UUID | None, tuple[dict[Bucket, float], DealRule]]:
        """Each company's effort split and deal rule (company settings), for the reps' companies."""
        companies = {tree.company_of(r.org_unit_id) for r in reps if r.org_unit_id is not None}
        rules: dict[UUID | None, tuple[dict[Bucket, float], DealRule]] = {}
        for company_id, row in (await company_settings(self.session, companies)).items():
            split: dict[Bucket, float] = {
                "A": float(row.effort_a),
                "B": float(row.effort_b),
                "C": float(row.effort_c),
                "prospect": float(row.effort_prospect),
            }
            rules[company_id] = (split, DealRule(row.deal_close_days, row.deal_stale_days))
        return rules

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


_DEFAULTS: tuple[dict[Bucket, float], DealRule] = (dict(DEFAULT_SPLIT), DEFAULT_DEAL_RULE)


class _Sweep(NamedTuple):
    """What every batch of a sweep shares (PlannerService._sweep)."""

    tree: OrgTree
    gaps: dict[UUID, Decimal]
    policies: dict[UUID | None, dict[str, int]]
    rules: dict[UUID | None, tuple[dict[Bucket, float], DealRule]]


# Core UPDATE by primary key, executemany: the ORM's bulk UPDATE adds per-call bookkeeping.
_PLAN_STATS = (
    update(DailyPlan.__table__)
    .where(DailyPlan.__table__.c.id == bindparam("plan_id"))
    .values(stats=bindparam("plan_stats"), generated_at=bindparam("plan_at"))
)
