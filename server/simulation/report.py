"""What a simulated quarter achieved: the measures and a terminal table (the SVG chart is chart.py).

Definitions (docs/simulation.md, "Reading the results"):
- attainment: revenue ordered in the window (visits and unvisited orders) / the reps' approved
  monthly revenue targets prorated to the window by working days.
- compliance by grade: each working day, after the reps' day, the share of the grade's active
  customers (grade as the product has it that day) whose last completed visit is within the
  grade's interval; averaged over the working days.
- reach: at the end of the window, the share of all assigned customers (every grade, prospects
  too) visited within their grade's interval.
- hit rate: completed visits with an order / completed visits (not-available ones included).
- effort by grade: completed visits per bucket (A, B, C, D, prospect; the customer's grade as
  the product has it on the day of the visit) / all completed visits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Escalation, Order, Target
from server.domain.calendar import working_days
from server.simulation.agents import DayLog

GRADES = ("A", "B", "C", "D")
SHOWN_GRADES = ("A", "B", "C")


@dataclass
class Tracker:
    """Collects the day-by-day measures while the simulation runs."""

    intervals: Mapping[str, int]
    last_visit: dict[UUID, date]
    visits: int = 0
    orders_from_visits: int = 0
    not_available: int = 0
    follow_ups: int = 0
    metres: float = 0.0
    rep_days_worked: int = 0
    rep_days_absent: int = 0
    left_open: int = 0
    orders_unvisited: int = 0
    effort: Counter[str] = field(default_factory=Counter)  # completed visits by bucket
    _daily: dict[date, dict[str, list[int]]] = field(default_factory=dict)
    _end: dict[UUID, bool] = field(default_factory=dict)
    _visited_on: dict[date, set[UUID]] = field(default_factory=dict)  # until the day is measured

    def record_day(self, day: date, log: DayLog) -> None:
        self.rep_days_worked += 1
        self.visits += log.visits
        self.orders_from_visits += log.orders
        self.not_available += log.not_available
        self.follow_ups += log.follow_ups
        self.metres += log.metres
        self.left_open += log.left_open
        for customer_id in log.visited:
            self.last_visit[customer_id] = day
        self._visited_on.setdefault(day, set()).update(log.visited)

    def measure(self, day: date, customers: Iterable[tuple[UUID, str, str]]) -> None:
        """After a working day: per grade, how many active customers are within their interval.

        Called once per time zone; the counts of the zones add up for the day. The latest call
        also gives the end-of-window coverage of every customer it saw (for reach).
        """
        counts = self._daily.setdefault(day, {g: [0, 0] for g in (*GRADES, "prospect")})
        visited = self._visited_on.get(day, set())
        for customer_id, grade, status in customers:
            interval = self.intervals.get(grade, 60)
            last = self.last_visit.get(customer_id)
            within = last is not None and (day - last).days <= interval
            bucket = "prospect" if status == "prospect" else grade
            if customer_id in visited:
                self.effort[bucket] += 1
            counts[bucket][0] += within
            counts[bucket][1] += 1
            self._end[customer_id] = within

    def compliance(self) -> dict[str, float | None]:
        shares: dict[str, float | None] = {}
        for bucket in (*GRADES, "prospect"):
            daily = [c[bucket][0] / c[bucket][1] for c in self._daily.values() if c[bucket][1]]
            shares[bucket] = round(sum(daily) / len(daily), 4) if daily else None
        return shares

    def compliance_last_day(self) -> dict[str, float | None]:
        if not self._daily:
            return {}
        last = self._daily[max(self._daily)]
        return {b: (round(n / d, 4) if d else None) for b, (n, d) in last.items()}

    def effort_shares(self) -> dict[str, float]:
        """Share of the completed visits by bucket (A, B, C, D, prospect)."""
        total = sum(self.effort.values())
        return {b: round(self.effort[b] / total, 4) if total else 0.0 for b in (*GRADES, "prospect")}

    def reach(self) -> float | None:
        if not self._end:
            return None
        return round(sum(self._end.values()) / len(self._end), 4)


@dataclass
class PlannerReport:
    planner: str
    seed: int
    weeks: int
    reps: int
    start: str
    end: str
    revenue: str
    plan: str
    attainment: float
    compliance: dict[str, float | None]
    compliance_last_day: dict[str, float | None]
    reach: float | None
    visits: int
    orders_from_visits: int
    orders_unvisited: int
    hit_rate: float | None
    not_available: int
    follow_ups: int
    km: float
    km_per_visit: float | None
    rep_days_worked: int
    rep_days_absent: int
    tasks_left_open: int
    escalations: int
    escalations_by_severity: dict[str, int]
    weekly: list[dict[str, Any]]
    effort: dict[str, float]  # share of completed visits by bucket (A, B, C, D, prospect)
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time: on a busy machine wall time says little
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds by kind of event

    def numbers(self) -> dict[str, Any]:
        """Everything but the timings: identical for identical inputs."""
        values = asdict(self)
        for measured in ("wall_s", "cpu_s", "timings"):
            values.pop(measured)
        return values


async def finish(
    session: AsyncSession,
    tracker: Tracker,
    planner: str,
    seed: int,
    weeks: int,
    rep_ids: Sequence[UUID],
    start: date,
    end: date,
    window_from: datetime,
) -> PlannerReport:
    """Read the quarter's actuals, plan and escalations back from the database."""
    rows = await session.execute(
        select(Order.ordered_on, Order.amount).where(
            Order.rep_id.in_(rep_ids), Order.ordered_on >= start, Order.ordered_on <= end
        )
    )
    by_day: dict[date, Decimal] = defaultdict(Decimal)
    for ordered_on, amount in rows:
        by_day[ordered_on] += Decimal(amount)
    targets = (
        await session.execute(
            select(Target.period_start, Target.period_end, Target.amount).where(
                Target.scope == "user",
                Target.scope_id.in_(rep_ids),
                Target.metric == "revenue",
                Target.granularity == "month",
                Target.status == "approved",
            )
        )
    ).all()

    def plan_until(last: date) -> Decimal:
        total = Decimal(0)
        for period_start, period_end, amount in targets:
            overlap_from, overlap_to = max(period_start, start), min(period_end, last)
            whole = working_days(period_start, period_end)
            if overlap_from <= overlap_to and whole:
                total += Decimal(amount) * working_days(overlap_from, overlap_to) / whole
        return total

    plan = plan_until(end)
    revenue = sum(by_day.values(), Decimal(0))
    weekly = []
    week_end = start + timedelta(days=6)
    while week_end <= end:
        done = sum((v for d, v in by_day.items() if d <= week_end), Decimal(0))
        weekly.append(
            {
                "week_end": week_end.isoformat(),
                "revenue": str(done.quantize(Decimal(1))),
                "plan": str(plan_until(week_end).quantize(Decimal(1))),
            }
        )
        week_end += timedelta(days=7)
    severities = dict(
        (
            await session.execute(
                select(Escalation.severity, func.count())
                .where(Escalation.opened_at >= window_from)
                .group_by(Escalation.severity)
                .order_by(Escalation.severity)
            )
        ).all()
    )
    km = tracker.metres / 1000
    return PlannerReport(
        planner=planner,
        seed=seed,
        weeks=weeks,
        reps=len(rep_ids),
        start=start.isoformat(),
        end=end.isoformat(),
        revenue=str(revenue.quantize(Decimal("0.01"))),
        plan=str(plan.quantize(Decimal("0.01"))),
        attainment=round(float(revenue / plan), 4) if plan else 0.0,
        compliance=tracker.compliance(),
        compliance_last_day=tracker.compliance_last_day(),
        reach=tracker.reach(),
        visits=tracker.visits,
        orders_from_visits=tracker.orders_from_visits,
        orders_unvisited=tracker.orders_unvisited,
        hit_rate=round(tracker.orders_from_visits / tracker.visits, 4) if tracker.visits else None,
        not_available=tracker.not_available,
        follow_ups=tracker.follow_ups,
        km=round(km, 1),
        km_per_visit=round(km / tracker.visits, 3) if tracker.visits else None,
        rep_days_worked=tracker.rep_days_worked,
        rep_days_absent=tracker.rep_days_absent,
        tasks_left_open=tracker.left_open,
        escalations=sum(severities.values()),
        escalations_by_severity={str(k): int(v) for k, v in severities.items()},
        weekly=weekly,
        effort=tracker.effort_shares(),
    )


# ---- terminal ----


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def effort_text(effort: Mapping[str, float]) -> str:
    """Effort shares as whole percents, A/B/C/prospects/D."""
    return "/".join(f"{effort.get(b, 0.0) * 100:.0f}" for b in ("A", "B", "C", "prospect", "D"))


def table(reports: Sequence[PlannerReport]) -> Any:
    """A rich Table, one row per planner."""
    from rich.table import Table

    first = reports[0]
    title = (
        f"{first.weeks} weeks from {first.start}, {first.reps} reps, seed {first.seed} "
        "(compliance: daily average; reach: last day)"
    )
    grid = Table(title=title)
    for name in (
        "Planner",
        "Attainment",
        "A compl.",
        "B compl.",
        "C compl.",
        "Reach",
        "Hit rate",
        "km/visit",
        "Escalations",
        "Visits",
        "Effort A/B/C/P/D",
        "Wall / CPU",
    ):
        grid.add_column(name, justify="left" if name == "Planner" else "right")
    for r in reports:
        grid.add_row(
            r.planner,
            _pct(r.attainment),
            _pct(r.compliance.get("A")),
            _pct(r.compliance.get("B")),
            _pct(r.compliance.get("C")),
            _pct(r.reach),
            _pct(r.hit_rate),
            "-" if r.km_per_visit is None else f"{r.km_per_visit:.2f}",
            str(r.escalations),
            str(r.visits),
            effort_text(r.effort),
            f"{r.wall_s:.0f} s / {r.cpu_s:.0f} s",
        )
    return grid


def markdown_table(reports: Sequence[PlannerReport]) -> str:
    """The same table as Markdown (for docs/simulation.md)."""
    lines = [
        "| Planner | Attainment | A compliance | B compliance | C compliance | Reach | Hit rate | km/visit | Escalations | Visits | Effort A/B/C/P/D (%) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in reports:
        lines.append(
            f"| {r.planner} | {_pct(r.attainment)} | {_pct(r.compliance.get('A'))} | "
            f"{_pct(r.compliance.get('B'))} | {_pct(r.compliance.get('C'))} | {_pct(r.reach)} | "
            f"{_pct(r.hit_rate)} | {r.km_per_visit if r.km_per_visit is not None else '-'} | "
            f"{r.escalations} | {r.visits} | {effort_text(r.effort)} |"
        )
    return "\n".join(lines)
