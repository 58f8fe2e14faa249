"""Set-based building blocks shared by the stand-up board, the weekly review and the scorecard.

Every function answers all reps of a board with one aggregate query (per distinct time zone where
a local day matters), never a query per rep. What counts (docs/standup.md):

- visit tasks: tasks of kind visit on the rep's local dates; a past day's task still open counts
  as missed even before the day-closing sweep has marked it; snoozed (moved) tasks are left out
  by the domain rule `visit_compliance`.
- visits: completed check-ins (checked_out_at set) checked in on the rep's local dates; a visit
  "with an order" is one an order row points at (orders.checkin_id).
- orders: orders taken by the rep (orders.rep_id) with ordered_on in the dates.
- reach: the rep's active customers whose last completed visit (by anyone) falls within their
  grade's visit interval, counted back from the end of the as-of day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select

from server.core.access import Scope
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.org import OrgTree, UnitInfo
from server.core.services import Services
from server.db.models import Checkin, Customer, Order, Task, User
from server.domain.numbers import ratio
from server.domain.scorecard import reach_rate, visit_compliance
from server.services.plans.progress import chunks
from server.services.tasks.tasks import MOVED

REACH_FLOOR = Decimal("0.80")  # teams expect at least 80% of assigned customers in cadence
ZERO = Decimal(0)


@dataclass(frozen=True)
class Rep:
    id: UUID
    name: str
    unit_id: UUID
    team: str
    timezone: str


def unit_in_scope(tree: OrgTree, access: Scope, unit_id: UUID) -> UnitInfo:
    """The org unit if the caller may see it; unknown and out of scope look alike (404)."""
    unit = tree.units.get(unit_id)
    if unit is None or not access.sees_unit(unit_id):
        raise ProblemError(
            404,
            f"org_unit_id: org unit {unit_id} not found",
            [{"field": "org_unit_id", "message": _("no such org unit")}],
        )
    return unit


async def roster(services: Services, tree: OrgTree, access: Scope, unit_id: UUID) -> list[Rep]:
    """Active reps of the unit's subtree the caller may see (a rep sees only themself)."""
    rows = await services.session.execute(
        select(User.id, User.name, User.org_unit_id, User.timezone)
        .where(
            User.role == "rep",
            User.active.is_(True),
            User.org_unit_id.in_(tree.subtree(unit_id)),
            access.user_clause(User.id),
        )
        .order_by(User.name, User.id)
    )
    return [Rep(r.id, r.name, r.org_unit_id, tree.units[r.org_unit_id].name, r.timezone) for r in rows]


def _by_zone(reps: Iterable[Rep]) -> dict[str, list[UUID]]:
    zones: dict[str, list[UUID]] = defaultdict(list)
    for rep in reps:
        zones[rep.timezone].append(rep.id)
    return zones


Window = tuple[date, date]  # inclusive local dates


def _span(windows: Sequence[Window]) -> tuple[date, date]:
    return min(start for start, _ in windows), max(end for _, end in windows)


def _window(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    """[local midnight of start, local midnight after end) as UTC instants."""
    tz = ZoneInfo(zone)
    return (
        datetime.combine(start, time.min, tz).astimezone(UTC),
        datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC),
    )


def visit_status(today: date) -> ColumnElement[str]:
    """A task's status, with a past day's still-open task counted as missed."""
    still_open = or_(
        Task.status == "planned",
        and_(Task.status == "snoozed", or_(Task.status_reason.is_(None), Task.status_reason != MOVED)),
    )
    return case((and_(Task.local_date < today, still_open), "missed"), else_=Task.status)


async def visit_tallies(
    services: Services, rep_ids: Sequence[UUID], windows: Sequence[Window], today: date
) -> list[dict[UUID, Counter[str]]]:
    """Visit tasks per rep and status in each window of local dates: one GROUP BY for all windows."""
    status = visit_status(today).label("visit_status")  # not "status": GROUP BY would bind the column
    in_window = [func.sum(case((Task.local_date.between(start, end), 1), else_=0)) for start, end in windows]
    tallies: list[dict[UUID, Counter[str]]] = [defaultdict(Counter) for _ in windows]
    for part in chunks(rep_ids):
        rows = await services.session.execute(
            select(Task.rep_id, status, *in_window)
            .where(Task.rep_id.in_(part), Task.kind == "visit", Task.local_date.between(*_span(windows)))
            .group_by(Task.rep_id, status)
        )
        for rep_id, state, *counts in rows:
            for tally, count in zip(tallies, counts, strict=True):
                if count:
                    tally[rep_id][state] += int(count)
    return tallies


def planned_count(tally: Counter[str]) -> int:
    """Planned visits as visit_compliance counts them (snoozed ones moved to another day)."""
    return sum(tally.values()) - tally["snoozed"]


def compliance(tally: Counter[str]) -> Decimal | None:
    return visit_compliance(tally.elements())


@dataclass(frozen=True)
class VisitCounts:
    """Completed visits in a window: all of them, those with an order, and those orders' sum."""

    done: int = 0
    with_order: int = 0
    order_amount: Decimal = ZERO

    def __add__(self, other: VisitCounts) -> VisitCounts:
        return VisitCounts(
            self.done + other.done,
            self.with_order + other.with_order,
            self.order_amount + other.order_amount,
        )

    @property
    def hit_rate(self) -> Decimal | None:
        return ratio(Decimal(self.with_order) / self.done) if self.done else None


async def completed_visits(
    services: Services, reps: Sequence[Rep], windows: Sequence[Window]
) -> list[dict[UUID, VisitCounts]]:
    """Completed check-ins per rep in each window of local dates, with the orders they led to."""
    found: list[dict[UUID, VisitCounts]] = [{} for _ in windows]
    has_order = Order.id.is_not(None)
    for zone, ids in _by_zone(reps).items():
        bounds = [_window(start, end, zone) for start, end in windows]
        columns = []
        for begin, finish in bounds:
            inside = and_(Checkin.checked_in_at >= begin, Checkin.checked_in_at < finish)
            columns += [
                func.sum(case((inside, 1), else_=0)),
                func.sum(case((and_(inside, has_order), 1), else_=0)),
                func.sum(case((inside, Order.amount), else_=None)),
            ]
        for part in chunks(ids):
            rows = await services.session.execute(
                select(Checkin.rep_id, *columns)
                .outerjoin(Order, Order.checkin_id == Checkin.id)  # unique: at most one order a visit
                .where(
                    Checkin.rep_id.in_(part),
                    Checkin.checked_out_at.is_not(None),
                    Checkin.checked_in_at >= min(b for b, _ in bounds),
                    Checkin.checked_in_at < max(f for _, f in bounds),
                )
                .group_by(Checkin.rep_id)
            )
            for rep_id, *sums in rows:
                for index, counts in enumerate(found):
                    done, with_order, amount = sums[3 * index : 3 * index + 3]
                    if done:
                        counts[rep_id] = VisitCounts(int(done), int(with_order), Decimal(amount or 0))
    return found


async def orders_taken(
    services: Services, rep_ids: Sequence[UUID], windows: Sequence[Window]
) -> list[dict[UUID, tuple[int, Decimal]]]:
    """Orders taken per rep with ordered_on in each window: (count, amount), one GROUP BY."""
    columns = []
    for start, end in windows:
        inside = Order.ordered_on.between(start, end)
        columns += [func.sum(case((inside, 1), else_=0)), func.sum(case((inside, Order.amount), else_=None))]
    found: list[dict[UUID, tuple[int, Decimal]]] = [{} for _ in windows]
    for part in chunks(rep_ids):
        rows = await services.session.execute(
            select(Order.rep_id, *columns)
            .where(Order.rep_id.in_(part), Order.ordered_on.between(*_span(windows)))
            .group_by(Order.rep_id)
        )
        for rep_id, *sums in rows:
            for index, taken in enumerate(found):
                count, amount = sums[2 * index : 2 * index + 2]
                if count:
                    taken[rep_id] = (int(count), Decimal(amount or 0))
    return found


@dataclass(frozen=True)
class Reach:
    assigned: int = 0
    visited: int = 0

    def __add__(self, other: Reach) -> Reach:
        return Reach(self.assigned + other.assigned, self.visited + other.visited)

    @property
    def rate(self) -> Decimal | None:
        # The SQL already counted the customers; the rule wants sets, so hand it stand-in ids.
        return reach_rate(range(self.assigned), range(self.visited))


async def reach_by_grade(
    services: Services, reps: Sequence[Rep], as_of: date, intervals: dict[str, int]
) -> dict[UUID, dict[str, Reach]]:
    """Per rep and grade: active customers, and those visited within their grade's interval."""
    found: dict[UUID, dict[str, Reach]] = defaultdict(dict)
    column_type = Checkin.checked_in_at.type
    for zone, ids in _by_zone(reps).items():
        _, finish = _window(as_of, as_of, zone)
        since = {
            grade: literal(_window(as_of - timedelta(days=days - 1), as_of, zone)[0], column_type)
            for grade, days in intervals.items()
        }
        in_cadence = exists().where(
            Checkin.customer_id == Customer.id,
            Checkin.checked_out_at.is_not(None),
            Checkin.checked_in_at >= case(since, value=Customer.grade),
            Checkin.checked_in_at < finish,
        )
        for part in chunks(ids):
            rows = await services.session.execute(
                select(
                    Customer.owner_rep_id,
                    Customer.grade,
                    func.count(Customer.id),
                    func.sum(case((in_cadence, 1), else_=0)),
                )
                .where(Customer.owner_rep_id.in_(part), Customer.status == "active")
                .group_by(Customer.owner_rep_id, Customer.grade)
            )
            for rep_id, grade, assigned, visited in rows:
                found[rep_id][grade] = Reach(int(assigned), int(visited or 0))
    return found


def overall_reach(by_grade: dict[str, Reach]) -> Reach:
    return sum(by_grade.values(), Reach())


async def unit_today(services: Services, access: Scope, unit_id: UUID) -> date:
    """Today in the unit's time zone (404 naming org_unit_id for an unknown or hidden unit)."""
    unit = unit_in_scope(await OrgTree.load(services.session), access, unit_id)
    return services.clock.local_date(unit.timezone)


async def visible_units(services: Services, access: Scope) -> list[tuple[UnitInfo, int]]:
    """The units the caller may open a board for, in tree order with their depth (for pickers)."""
    tree = await OrgTree.load(services.session)
    roots = [
        u.id for u in tree.units.values() if access.sees_unit(u.id) and not access.sees_unit(u.parent_id)
    ]
    found: list[tuple[UnitInfo, int]] = []

    def walk(unit_id: UUID, depth: int) -> None:
        found.append((tree.units[unit_id], depth))
        if not access.principal.is_rep:  # a rep's board is their own team only
            for child in tree.children.get(unit_id, []):
                walk(child, depth + 1)

    for root in sorted(roots, key=lambda r: tree.units[r].name):
        walk(root, 0)
    return found
