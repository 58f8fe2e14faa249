"""Baseline planners: other ways to choose the day's customers, for comparison with the product's.

A baseline replaces only the *selection*: which customers a rep visits today, up to the same
capacity. The chosen customers are written with the real TasksService (as the rep adding them to
their own day), which routes them with the product's routing; check-in, close-day, grading and
escalation downstream are identical to a run with the product's planner.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol
from uuid import UUID

from server.domain.policy import DEFAULT_VISIT_INTERVALS, overdue_ratio


@dataclass(frozen=True)
class CandidateRow:
    """What a baseline may look at: the rep's active customers and prospects as stored."""

    customer_id: UUID
    external_ref: str | None
    grade: str
    status: str
    last_visit_on: date | None


class Baseline(Protocol):
    name: str

    def select(
        self, rep_id: UUID, day: date, candidates: Sequence[CandidateRow], capacity: int
    ) -> list[UUID]: ...


@dataclass
class MostOverdueFirst:
    """Highest overdue ratio first (days since last visit / the grade's interval; never = 3.0)."""

    intervals: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_VISIT_INTERVALS))
    name: str = "most-overdue"

    def select(
        self, rep_id: UUID, day: date, candidates: Sequence[CandidateRow], capacity: int
    ) -> list[UUID]:
        def overdue(c: CandidateRow) -> float:
            since = (day - c.last_visit_on).days if c.last_visit_on else None
            return overdue_ratio(since, self.intervals.get(c.grade, 60))

        ranked = sorted(candidates, key=lambda c: (-overdue(c), str(c.customer_id)))
        return [c.customer_id for c in ranked[:capacity]]


@dataclass
class RoundRobin:
    """Every customer in turn, in a fixed order (external ref), `capacity` a day, grade-blind."""

    name: str = "round-robin"

    def __post_init__(self) -> None:
        self._next: dict[UUID, int] = {}

    def select(
        self, rep_id: UUID, day: date, candidates: Sequence[CandidateRow], capacity: int
    ) -> list[UUID]:
        book = sorted(candidates, key=lambda c: (c.external_ref or "", str(c.customer_id)))
        if not book:
            return []
        start = self._next.get(rep_id, 0) % len(book)
        picked = [book[(start + i) % len(book)].customer_id for i in range(min(capacity, len(book)))]
        self._next[rep_id] = start + len(picked)
        return picked


@dataclass
class RandomPick:
    """`capacity` customers drawn at random; its own random stream, separate from the world's."""

    seed: int
    name: str = "random"

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:random-planner")

    def select(
        self, rep_id: UUID, day: date, candidates: Sequence[CandidateRow], capacity: int
    ) -> list[UUID]:
        book = sorted(candidates, key=lambda c: str(c.customer_id))
        return [c.customer_id for c in self._rng.sample(book, min(capacity, len(book)))]


def make_baseline(name: str, seed: int, intervals: Mapping[str, int] | None = None) -> Baseline:
    if name == "most-overdue":
        return MostOverdueFirst(intervals or DEFAULT_VISIT_INTERVALS)
    if name == "round-robin":
        return RoundRobin()
    if name == "random":
        return RandomPick(seed)
    raise ValueError(f"unknown baseline {name!r}")
