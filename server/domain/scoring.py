"""Daily task scoring and selection. Every weight lives in ScoringWeights, here and only here.

score = sum of named components, each with a reason the rep can read:
  cadence      grade weight x min(overdue, overdue_cap)   (overdue = days since visit / interval)
  due          grade weight x due, when waiting for the rep's next working day would leave the
               customer past its interval (so the visit is due today at the latest)
  plan_gap     plan_gap x min(1, share / plan_gap_full_share) x readiness,
               share = expected order / rep's gap
  promise_due  flat, when the customer was promised something due today or earlier
  churn_risk   churn_risk x readiness, when days since last order >= churn_lateness x the usual
               order interval
  prospecting  flat, for prospects (new business needs a steady share of the day)
  carry_over   flat, for yesterday's unfinished task
  manager_pin  flat, when the manager assigned it
readiness = min(1, days since the last visit or order / the usual order interval (else the
grade's interval)): a customer met yesterday is not about to order again, however large its
orders or late its habit, so order-driven reasons fade right after a visit and come back with
the customer's own rhythm.
Promise due, manager pin and carry-over are also *mandatory*: selected before anything else,
followed by the due customers of the must-visit grades (A).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any, Literal
from uuid import UUID

from server.domain.grading import Grade
from server.domain.policy import overdue_ratio

ReasonCode = Literal[
    "cadence",
    "due",
    "plan_gap",
    "promise_due",
    "churn_risk",
    "prospecting",
    "carry_over",
    "manager_pin",
]
REASON_ORDER: tuple[ReasonCode, ...] = (
    "manager_pin",
    "promise_due",
    "carry_over",
    "due",
    "cadence",
    "plan_gap",
    "churn_risk",
    "prospecting",
)
Bucket = Literal["A", "B", "C", "D", "prospect"]
BUCKETS: tuple[Bucket, ...] = ("A", "B", "C", "D", "prospect")
DEFAULT_QUOTAS: Mapping[Bucket, float] = MappingProxyType({"A": 0.4, "B": 0.3, "C": 0.2, "prospect": 0.1})
# Buckets whose due customers are planned like promises: A accounts are kept weekly, first.
DEFAULT_MUST_VISIT: tuple[Bucket, ...] = ("A",)


@dataclass(frozen=True)
class ScoringWeights:
    """All planner weights.

    Cadence tops out at grade x overdue_cap (A 12, B 9, C 6, D 3) and dominates the ranking.
    Due (grade x 1.5: A 6, B 4.5, C 3, D 1.5) is a step on the last day a visit keeps the
    customer within its interval, so an A that is due outranks everything but a long-lost A,
    and the visit happens before the deadline rather than after it. Plan gap (up to 3) and churn
    risk (2) separate customers of similar cadence. Prospecting (1.5) plus a never-visited D's
    cadence (3) and due (1.5) put a prospect between a due C and a due B. Pin (6), promise (5)
    and carry-over (2) items are mandatory anyway; their weights order them among themselves
    and tell the rep why they are there.
    """

    grade_a: float = 4.0
    grade_b: float = 3.0
    grade_c: float = 2.0
    grade_d: float = 1.0
    overdue_cap: float = 3.0
    due: float = 1.5  # x grade weight
    plan_gap: float = 3.0
    plan_gap_full_share: float = 0.10  # closing >= 10% of the rep's gap earns the full weight
    promise_due: float = 5.0
    churn_risk: float = 2.0
    churn_lateness: float = 1.5  # "well past" the usual order interval
    prospecting: float = 1.5
    carry_over: float = 2.0
    manager_pin: float = 6.0

    def grade_weight(self, grade: Grade) -> float:
        """Cadence weight of a grade."""
        return {
            "A": self.grade_a,
            "B": self.grade_b,
            "C": self.grade_c,
            "D": self.grade_d,
        }[grade]


DEFAULT_WEIGHTS = ScoringWeights()


@dataclass(frozen=True)
class Reason:
    """One scored reason; `code` is stable (the UI translates it), `params` fill its text."""

    code: ReasonCode
    text: str
    weight: float
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict[str, Any]:
        """Shape stored in tasks.reasons."""
        return {
            "code": self.code,
            "text": self.text,
            "weight": self.weight,
            "params": self.params,
        }


@dataclass(frozen=True)
class Candidate:
    """Everything the planner knows about one customer for one rep and day."""

    customer_id: UUID | str
    grade: Grade
    status: Literal["active", "prospect"]
    days_since_visit: int | None
    interval_days: int
    expected_order_value: Decimal = Decimal(0)
    rep_remaining_gap: Decimal = Decimal(0)
    promise_due: bool = False
    promise_text: str | None = None
    usual_order_interval_days: int | None = None
    days_since_last_order: int | None = None
    carried_over_from: date | None = None
    manager_pinned: bool = False
    days_to_next_working_day: int = 1  # from the planned day: 1 Monday-Thursday, 3 on a Friday
    lat: float | None = None
    lng: float | None = None

    @property
    def mandatory(self) -> bool:
        """Promises, manager pins and carry-overs are planned before anything else."""
        return self.promise_due or self.manager_pinned or self.carried_over_from is not None

    @property
    def bucket(self) -> Bucket:
        """Quota bucket: prospects share one bucket whatever their grade."""
        return "prospect" if self.status == "prospect" else self.grade


@dataclass(frozen=True)
class ScoredCandidate:
    candidate: Candidate
    score: float
    reasons: tuple[Reason, ...]

    @property
    def due(self) -> bool:
        """Due today by its grade's cadence (see _due): the only kind a quota slot is kept for."""
        return any(r.code == "due" for r in self.reasons)

    @property
    def rank_key(self) -> tuple[float, str]:
        """Higher score first; the customer id breaks ties so the order is reproducible."""
        return (-self.score, str(self.candidate.customer_id))


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _percent_text(share: Decimal) -> str:
    percent = (share * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return "<1%" if percent < 1 else f"{percent}%"


def _cadence(c: Candidate, w: ScoringWeights) -> Reason | None:
    overdue = min(overdue_ratio(c.days_since_visit, c.interval_days), w.overdue_cap)
    value = w.grade_weight(c.grade) * overdue
    if value <= 0:
        return None
    every = f"every {_days(c.interval_days)}"
    if c.days_since_visit is None:
        text = f"Grade {c.grade}, never visited ({every})"
    else:
        text = f"Grade {c.grade}, {_days(c.days_since_visit)} since last visit ({every})"
    params = {"grade": c.grade, "days": c.days_since_visit, "interval": c.interval_days}
    return Reason("cadence", text, value, params)


def readiness(c: Candidate) -> float:
    """How ready the customer is to order again: time since it was last met or ordered, over its
    usual order interval (the grade's visit interval when it has no habit yet); at most 1."""
    contact = [d for d in (c.days_since_visit, c.days_since_last_order) if d is not None]
    if not contact:
        return 1.0
    cycle = c.usual_order_interval_days or c.interval_days
    return min(1.0, max(0, min(contact)) / max(1, cycle))


def _due(c: Candidate, w: ScoringWeights) -> Reason | None:
    """The last working day on which a visit keeps the customer within its interval (or later)."""
    if c.days_since_visit is not None and c.days_since_visit + c.days_to_next_working_day <= c.interval_days:
        return None
    value = w.grade_weight(c.grade) * w.due
    if value <= 0:
        return None
    params = {"grade": c.grade, "interval": c.interval_days}
    return Reason("due", "Due before your next working day", value, params)


def _plan_gap(c: Candidate, w: ScoringWeights) -> Reason | None:
    if c.rep_remaining_gap <= 0 or c.expected_order_value <= 0:
        return None
    share = c.expected_order_value / c.rep_remaining_gap
    ready = readiness(c)
    value = w.plan_gap * min(1.0, float(share) / w.plan_gap_full_share) * ready
    if value <= 0:
        return None
    params = {"share": float(round(share, 4)), "readiness": round(ready, 2)}
    if share >= 1:
        return Reason("plan_gap", "Could close all of your remaining gap", value, params)
    text = f"Could close {_percent_text(share)} of your remaining gap"
    return Reason("plan_gap", text, value, params)


def _churn(c: Candidate, w: ScoringWeights) -> Reason | None:
    usual, since = c.usual_order_interval_days, c.days_since_last_order
    if c.status != "active" or not usual or usual <= 0 or since is None:
        return None
    if since < w.churn_lateness * usual:
        return None
    value = w.churn_risk * readiness(c)
    if value <= 0:
        return None
    text = f"Ordering later than usual ({since} d vs {usual} d)"
    return Reason("churn_risk", text, value, {"days": since, "usual": usual})


def score_candidate(c: Candidate, weights: ScoringWeights = DEFAULT_WEIGHTS) -> tuple[float, list[Reason]]:
    """Score one candidate; reasons come strongest first."""
    found: list[Reason | None] = [
        _cadence(c, weights),
        _due(c, weights),
        _plan_gap(c, weights),
        _churn(c, weights),
    ]
    if c.promise_due:
        text = f"Promise due: {c.promise_text}" if c.promise_text else "Promise due"
        found.append(Reason("promise_due", text, weights.promise_due, {"text": c.promise_text}))
    if c.status == "prospect":
        found.append(Reason("prospecting", "Prospect: new business", weights.prospecting))
    if c.carried_over_from is not None:
        day = c.carried_over_from.isoformat()
        found.append(
            Reason(
                "carry_over",
                f"Carried over from {day}",
                weights.carry_over,
                {"date": day},
            )
        )
    if c.manager_pinned:
        found.append(Reason("manager_pin", "Pinned by your manager", weights.manager_pin))

    # Round each weight first so the shown weights add up to the shown score.
    reasons = [Reason(r.code, r.text, round(r.weight, 2), r.params) for r in found if r is not None]
    reasons.sort(key=lambda r: (-r.weight, REASON_ORDER.index(r.code)))
    return round(sum(r.weight for r in reasons), 2), reasons


def score_candidates(
    candidates: Iterable[Candidate], weights: ScoringWeights = DEFAULT_WEIGHTS
) -> list[ScoredCandidate]:
    """Score every candidate; best first."""
    scored = []
    for c in candidates:
        score, reasons = score_candidate(c, weights)
        scored.append(ScoredCandidate(c, score, tuple(reasons)))
    return sorted(scored, key=lambda s: s.rank_key)


def quota_slots(capacity: int, quotas: Mapping[Bucket, float]) -> dict[Bucket, int]:
    """Whole slots per bucket: capacity x share, rounding remainders by largest fraction."""
    shares = {b: Decimal(str(quotas.get(b, 0))) for b in BUCKETS}
    if any(s < 0 or s > 1 for s in shares.values()) or set(quotas) - set(BUCKETS):
        raise ValueError(f"quotas must be shares in [0, 1] for buckets {', '.join(BUCKETS)}")
    if sum(shares.values()) > 1:
        raise ValueError("quota shares must not add up to more than 1")
    exact = {b: capacity * s for b, s in shares.items()}
    slots = {b: int(v) for b, v in exact.items()}
    spare = int(sum(exact.values())) - sum(slots.values())
    by_fraction = sorted(BUCKETS, key=lambda b: (-(exact[b] - slots[b]), BUCKETS.index(b)))
    for b in by_fraction[:spare]:
        slots[b] += 1
    return slots


def select_with_quotas(
    scored: Sequence[ScoredCandidate],
    capacity: int,
    quotas: Mapping[Bucket, float] = DEFAULT_QUOTAS,
    must_visit: Iterable[Bucket] = DEFAULT_MUST_VISIT,
) -> list[ScoredCandidate]:
    """Pick up to `capacity` candidates: mandatory ones first, then soft quotas, then by score.

    Mandatory: promises, pins and carry-overs, then the due customers of the `must_visit`
    buckets (a due A is never left for tomorrow); they count against their bucket's quota.
    Each bucket then takes its best *due* candidates up to its slots, and any slot left is
    filled by score from everything remaining. Quotas share the day among grades when more
    customers are due than fit; they never spend a slot on a customer that is not due (a C seen
    last week) while a due one waits, so unused slots are not reserved. Returned mandatory
    first, then by score.
    """
    if capacity < 0:
        raise ValueError("capacity must be >= 0")
    slots = quota_slots(capacity, quotas)
    must = frozenset(must_visit)
    ordered = sorted(scored, key=lambda s: s.rank_key)
    promised = [s for s in ordered if s.candidate.mandatory]
    due_musts = [s for s in ordered if not s.candidate.mandatory and s.due and s.candidate.bucket in must]
    chosen = (promised + due_musts)[:capacity]
    used = dict.fromkeys(BUCKETS, 0)
    for s in chosen:
        used[s.candidate.bucket] += 1

    picked = {id(s) for s in chosen}
    rest = [s for s in ordered if id(s) not in picked]
    by_quota: list[ScoredCandidate] = []
    for s in rest:
        if len(chosen) + len(by_quota) >= capacity:
            break
        bucket = s.candidate.bucket
        if s.due and used[bucket] < slots[bucket]:
            by_quota.append(s)
            used[bucket] += 1
    taken = {id(s) for s in by_quota}
    fill = [s for s in rest if id(s) not in taken][: capacity - len(chosen) - len(by_quota)]
    return chosen + sorted(by_quota + fill, key=lambda s: s.rank_key)
