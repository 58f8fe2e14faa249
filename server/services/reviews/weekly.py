"""The weekly review of a team (or region): plan vs actual for the week and the month to date,
visit compliance by grade and reach, hit rate, the visit -> order funnel and the week's movers.

The revenue plan of a stretch of days is the month target's expected-to-date at its end less
the expected-to-date before its start (the pace rule's working-day share, seasonal weights and
holidays included). A week that crosses a month end adds each month's part. Team rows are the
sums of the reps' rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from server.core.access import Scope
from server.core.errors import field_error
from server.core.i18n import gettext as _
from server.core.org import OrgTree, UnitInfo
from server.core.services import Service
from server.domain.calendar import month_start
from server.services.customers.visit_policy import VisitPolicyService
from server.services.reviews.metrics import (
    REACH_FLOOR,
    ZERO,
    Reach,
    Rep,
    VisitCounts,
    Window,
    completed_visits,
    compliance,
    orders_taken,
    overall_reach,
    planned_count,
    reach_by_grade,
    roster,
    unit_in_scope,
    visit_tallies,
)
from server.services.reviews.plan import PlanBook, attainment

GRADES = ("A", "B", "C")
MOVERS = 3


@dataclass(frozen=True)
class PlanRow:
    """Plan vs actual of one rep (rep_id None for the team total)."""

    rep_id: UUID | None
    name: str
    team: str
    week_plan: Decimal | None
    week_actual: Decimal
    mtd_plan: Decimal | None
    mtd_actual: Decimal
    month_target: Decimal | None
    week_tasks: Counter[str]
    mtd_tasks: Counter[str]
    week_visits: VisitCounts
    mtd_visits: VisitCounts

    @property
    def week_attainment(self) -> Decimal | None:
        return attainment(self.week_actual, self.week_plan)

    @property
    def mtd_attainment(self) -> Decimal | None:
        return attainment(self.mtd_actual, self.mtd_plan)

    @property
    def week_visits_planned(self) -> int:
        return planned_count(self.week_tasks)

    @property
    def mtd_visits_planned(self) -> int:
        return planned_count(self.mtd_tasks)

    @property
    def week_visits_done(self) -> int:
        return self.week_tasks["done"]

    @property
    def mtd_visits_done(self) -> int:
        return self.mtd_tasks["done"]

    @property
    def week_visit_compliance(self) -> Decimal | None:
        return compliance(self.week_tasks)

    @property
    def mtd_visit_compliance(self) -> Decimal | None:
        return compliance(self.mtd_tasks)

    @property
    def week_visits_completed(self) -> int:
        return self.week_visits.done

    @property
    def mtd_visits_completed(self) -> int:
        return self.mtd_visits.done


@dataclass(frozen=True)
class GradeRow:
    """Customers visited within their interval, by grade and overall (reach)."""

    rep_id: UUID | None
    name: str
    grades: dict[str, Reach]
    reach: Reach

    @property
    def below_floor(self) -> bool:
        rate = self.reach.rate
        return rate is not None and rate < REACH_FLOOR


@dataclass(frozen=True)
class Mover:
    rep_id: UUID
    name: str
    team: str
    last_week: Decimal
    this_week: Decimal

    @property
    def change(self) -> Decimal:
        return self.this_week - self.last_week


@dataclass(frozen=True)
class WeeklyReview:
    unit: UnitInfo
    week_start: date
    as_of: date
    plan: list[PlanRow]  # reps, then the team total when there is more than one rep
    grades: list[GradeRow]
    movers_up: list[Mover]
    movers_down: list[Mover]

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def iso_week(self) -> str:
        year, week, _ = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def month_start(self) -> date:
        return month_start(self.as_of)

    @property
    def total(self) -> PlanRow | None:
        return next((row for row in self.plan if row.rep_id is None), None)


class ReviewsService(Service):
    async def weekly(self, access: Scope, unit_id: UUID, week_start: date) -> WeeklyReview:
        """The review of the ISO week starting `week_start` (a Monday), up to today at the latest."""
        tree = await OrgTree.load(self.session)
        unit = unit_in_scope(tree, access, unit_id)
        today = self.clock.local_date(unit.timezone)
        if week_start > today:
            raise field_error("week", _("must not be a future week"))
        as_of = min(week_start + timedelta(days=6), today)
        reps = await roster(self.ctx, tree, access, unit_id)
        ids = [rep.id for rep in reps]
        book = PlanBook(self.ctx, "user", ids)
        last_week = (week_start - timedelta(days=7), week_start - timedelta(days=1))
        plan, last_orders = await self._plan_rows(reps, book, week_start, as_of, today, last_week)
        policy = self.ctx.get(VisitPolicyService)
        intervals = await policy.intervals(tree.company_of(unit_id))
        reach = await reach_by_grade(self.ctx, reps, as_of, dict(intervals))
        grades = [_grade_row(rep.id, rep.name, reach.get(rep.id, {})) for rep in reps]
        movers = await self._movers(reps, book, plan, last_week, last_orders)
        if len(reps) > 1:
            plan.append(_total_plan(plan, unit.name))
            team_reach: dict[str, Reach] = {}
            for by_grade in reach.values():
                for grade, tally in by_grade.items():
                    team_reach[grade] = team_reach.get(grade, Reach()) + tally
            grades.append(_grade_row(None, unit.name, team_reach))
        up = sorted((m for m in movers if m.change > 0), key=lambda m: (-m.change, m.name))
        down = sorted((m for m in movers if m.change < 0), key=lambda m: (m.change, m.name))
        return WeeklyReview(unit, week_start, as_of, plan, grades, up[:MOVERS], down[:MOVERS])

    async def _plan_rows(
        self, reps: list[Rep], book: PlanBook, week_start: date, as_of: date, today: date, last_week: Window
    ) -> tuple[list[PlanRow], dict[UUID, tuple[int, Decimal]]]:
        """Each rep's plan vs actual, and last week's orders (read in the same aggregate)."""
        ids, first = [rep.id for rep in reps], month_start(as_of)
        week_plan = await book.expected_between(week_start, as_of)
        targets = await book.at(as_of)
        windows = [(week_start, as_of), (first, as_of)]  # one aggregate per metric for both
        week_orders, mtd_orders, last_orders = await orders_taken(self.ctx, ids, [*windows, last_week])
        week_tasks, mtd_tasks = await visit_tallies(self.ctx, ids, windows, today)
        week_visits, mtd_visits = await completed_visits(self.ctx, reps, windows)
        rows = []
        for rep in reps:
            target = targets.get(rep.id)
            rows.append(
                PlanRow(
                    rep.id,
                    rep.name,
                    rep.team,
                    week_plan.get(rep.id),
                    week_orders.get(rep.id, (0, ZERO))[1],
                    target.progress.expected_to_date if target else None,
                    mtd_orders.get(rep.id, (0, ZERO))[1],
                    target.target if target else None,
                    week_tasks.get(rep.id, Counter()),
                    mtd_tasks.get(rep.id, Counter()),
                    week_visits.get(rep.id, VisitCounts()),
                    mtd_visits.get(rep.id, VisitCounts()),
                )
            )
        return rows, last_orders

    async def _movers(
        self,
        reps: list[Rep],
        book: PlanBook,
        plan: list[PlanRow],
        last_week: Window,
        last_orders: dict[UUID, tuple[int, Decimal]],
    ) -> list[Mover]:
        """Reps by change in week attainment (actual / the week's plan) against last week."""
        last_plan = await book.expected_between(*last_week)
        movers = []
        for rep, row in zip(reps, plan, strict=True):
            now = row.week_attainment
            before = attainment(last_orders.get(rep.id, (0, ZERO))[1], last_plan.get(rep.id))
            if now is not None and before is not None:
                movers.append(Mover(rep.id, rep.name, rep.team, before, now))
        return movers


def _grade_row(rep_id: UUID | None, name: str, by_grade: dict[str, Reach]) -> GradeRow:
    return GradeRow(rep_id, name, {g: by_grade.get(g, Reach()) for g in GRADES}, overall_reach(by_grade))


def _sum_optional(values: list[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, ZERO) if present else None


def _total_plan(rows: list[PlanRow], name: str) -> PlanRow:
    def tasks(pick: str) -> Counter[str]:
        total: Counter[str] = Counter()
        for row in rows:
            total.update(getattr(row, pick))
        return total

    return PlanRow(
        None,
        name,
        name,
        _sum_optional([r.week_plan for r in rows]),
        sum((r.week_actual for r in rows), ZERO),
        _sum_optional([r.mtd_plan for r in rows]),
        sum((r.mtd_actual for r in rows), ZERO),
        _sum_optional([r.month_target for r in rows]),
        tasks("week_tasks"),
        tasks("mtd_tasks"),
        sum((r.week_visits for r in rows), VisitCounts()),
        sum((r.mtd_visits for r in rows), VisitCounts()),
    )
