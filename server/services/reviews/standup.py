"""The daily stand-up board: per rep, yesterday planned vs done, today's top tasks, blockers, pace.

One query per part for every rep of the board (reviews_metrics does the shared aggregates), so
a team of eight and a region of a thousand cost the same number of round trips.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import case, func, or_, select

from server.core.access import Scope
from server.core.org import OrgTree, UnitInfo
from server.core.services import Service
from server.db.models import Customer, Escalation, Promise, Task
from server.services.reviews.metrics import (
    Rep,
    completed_visits,
    orders_taken,
    planned_count,
    roster,
    unit_in_scope,
    visit_status,
    visit_tallies,
)
from server.services.reviews.plan import MonthPace, PlanBook
from server.services.tasks.tasks import MOVED

MEETING_MINUTES = 15
TOP_TASKS = 3


@dataclass(frozen=True)
class Yesterday:
    visits_planned: int = 0  # visit tasks of the day (moved ones left out)
    visits_done: int = 0  # of those, done
    visits_completed: int = 0  # completed check-ins of the day, planned or not
    orders: int = 0
    order_amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class TopTask:
    id: UUID
    rank: int | None
    kind: str
    status: str
    customer_name: str | None
    title: str | None
    reasons: list[dict[str, Any]]


@dataclass(frozen=True)
class OpenEscalation:
    id: UUID
    rule: str
    severity: str
    level: int
    state: str
    opened_at: datetime


@dataclass(frozen=True)
class OverduePromise:
    id: UUID
    customer_name: str
    text: str
    due_on: date


@dataclass(frozen=True)
class MissedVisit:
    task_id: UUID
    customer_name: str | None
    title: str | None


@dataclass
class StandupCard:
    rep: Rep
    yesterday: Yesterday = field(default_factory=Yesterday)
    today: list[TopTask] = field(default_factory=list)
    escalations: list[OpenEscalation] = field(default_factory=list)
    overdue_promises: list[OverduePromise] = field(default_factory=list)
    missed_visits: list[MissedVisit] = field(default_factory=list)
    pace: MonthPace | None = None

    @property
    def blocker_count(self) -> int:
        return len(self.escalations) + len(self.overdue_promises) + len(self.missed_visits)


@dataclass(frozen=True)
class StandupBoard:
    unit: UnitInfo
    day: date
    cards: list[StandupCard]

    @property
    def yesterday(self) -> date:
        return self.day - timedelta(days=1)

    @property
    def seconds_per_rep(self) -> int:
        """Each rep's share of the 15-minute meeting."""
        return MEETING_MINUTES * 60 // len(self.cards) if self.cards else MEETING_MINUTES * 60


class StandupService(Service):
    async def board(self, access: Scope, unit_id: UUID, day: date) -> StandupBoard:
        """The board of the unit's reps the caller may see, for the local date `day`."""
        tree = await OrgTree.load(self.session)
        unit = unit_in_scope(tree, access, unit_id)
        reps = await roster(self.ctx, tree, access, unit_id)
        cards = {rep.id: StandupCard(rep) for rep in reps}
        if cards:
            await self._fill(cards, reps, day)
        return StandupBoard(unit, day, list(cards.values()))

    async def _fill(self, cards: dict[UUID, StandupCard], reps: list[Rep], day: date) -> None:
        ids, yesterday = list(cards), day - timedelta(days=1)
        window = [(yesterday, yesterday)]
        (tallies,) = await visit_tallies(self.ctx, ids, window, day)
        (visits,) = await completed_visits(self.ctx, reps, window)
        (orders,) = await orders_taken(self.ctx, ids, window)
        for rep_id, card in cards.items():
            tally = tallies.get(rep_id)
            count, amount = orders.get(rep_id, (0, Decimal(0)))
            card.yesterday = Yesterday(
                planned_count(tally) if tally else 0,
                tally["done"] if tally else 0,
                visits[rep_id].done if rep_id in visits else 0,
                count,
                amount,
            )
        for rep_id, task in await self._top_tasks(ids, day):
            cards[rep_id].today.append(task)
        for rep_id, escalation in await self._open_escalations(ids):
            cards[rep_id].escalations.append(escalation)
        for rep_id, promise in await self._overdue_promises(ids, day):
            cards[rep_id].overdue_promises.append(promise)
        for rep_id, missed in await self._missed_visits(ids, yesterday, day):
            cards[rep_id].missed_visits.append(missed)
        pace = await PlanBook(self.ctx, "user", ids).pace_on(day)
        for rep_id, item in pace.items():
            cards[rep_id].pace = item

    async def _top_tasks(self, rep_ids: list[UUID], day: date) -> list[tuple[UUID, TopTask]]:
        """The first TOP_TASKS tasks by rank per rep (one windowed query for every rep)."""
        not_moved = or_(Task.status_reason.is_(None), Task.status_reason != MOVED)
        position = (
            func.row_number()
            .over(
                partition_by=Task.rep_id,
                order_by=(case((Task.rank.is_(None), 1), else_=0), Task.rank, Task.id),
            )
            .label("position")
        )
        ranked = (
            select(Task.id.label("task_id"), position)
            .where(Task.rep_id.in_(rep_ids), Task.local_date == day, not_moved)
            .subquery()
        )
        rows = await self.session.execute(
            select(Task, Customer.name)
            .join(ranked, ranked.c.task_id == Task.id)
            .outerjoin(Customer, Customer.id == Task.customer_id)
            .where(ranked.c.position <= TOP_TASKS)
            .order_by(Task.rep_id, ranked.c.position)
        )
        return [
            (t.rep_id, TopTask(t.id, t.rank, t.kind, t.status, name, t.title, list(t.reasons or [])))
            for t, name in rows.tuples()
        ]

    async def _open_escalations(self, rep_ids: list[UUID]) -> list[tuple[UUID, OpenEscalation]]:
        # Acknowledged escalations stay open until their condition clears (DESIGN.md §5).
        rows = await self.session.scalars(
            select(Escalation)
            .where(
                Escalation.subject_type == "user",
                Escalation.subject_id.in_(rep_ids),
                Escalation.state != "resolved",
            )
            .order_by(Escalation.level.desc(), Escalation.opened_at)
        )
        return [
            (e.subject_id, OpenEscalation(e.id, e.rule, e.severity, e.level, e.state, e.opened_at))
            for e in rows
        ]

    async def _overdue_promises(self, rep_ids: list[UUID], day: date) -> list[tuple[UUID, OverduePromise]]:
        rows = await self.session.execute(
            select(Promise.rep_id, Promise.id, Customer.name, Promise.text, Promise.due_on)
            .join(Customer, Customer.id == Promise.customer_id)
            .where(Promise.rep_id.in_(rep_ids), Promise.status == "open", Promise.due_on < day)
            .order_by(Promise.due_on, Promise.id)
        )
        return [(r.rep_id, OverduePromise(r.id, r.name, r.text, r.due_on)) for r in rows]

    async def _missed_visits(
        self, rep_ids: list[UUID], yesterday: date, day: date
    ) -> list[tuple[UUID, MissedVisit]]:
        rows = await self.session.execute(
            select(Task.rep_id, Task.id, Customer.name, Task.title)
            .outerjoin(Customer, Customer.id == Task.customer_id)
            .where(
                Task.rep_id.in_(rep_ids),
                Task.kind == "visit",
                Task.local_date == yesterday,
                visit_status(day) == "missed",
            )
            .order_by(Task.rank, Task.id)
        )
        return [(r.rep_id, MissedVisit(r.id, r.name, r.title)) for r in rows]
