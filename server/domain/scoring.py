"""Daily task scoring. Every weight lives in ScoringWeights, here and only here.

score = sum of named components, each with a reason the rep can read:
  cadence      grade weight x min(overdue, overdue_cap)   (overdue = days since visit / interval)
  due          grade weight x due, when waiting for the rep's next working day would leave the
               customer past its interval (so the visit is due today at the latest)
  plan_gap     plan_gap x min(1, share / plan_gap_full_share) x readiness,
               share = (expected order + the customer's probability-weighted open pipeline)
               / rep's gap
  rfm          rfm x (R + F + M - 3) / 12 x readiness: the grading's 1-5 RFM scores push a
               recent, frequent, big buyer up within its grade ("RFM-based priority push")
  opportunity  flat, for an open deal whose expected close is near or whose stage is stale
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
Promise due, manager pin and carry-over are also *mandatory*. Selection, with the company's
effort split by grade, is server/domain/effort.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from uuid import UUID

from server.domain.grading import Grade
from server.domain.numbers import hundredths
from server.domain.policy import overdue_ratio

ReasonCode = Literal[
    "cadence",
    "due",
    "plan_gap",
    "promise_due",
    "churn_risk",
    "rfm",
    "opportunity",
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
    "opportunity",
    "plan_gap",
    "rfm",
    "churn_risk",
    "prospecting",
)
_REASON_RANK = {code: rank for rank, code in enumerate(REASON_ORDER)}  # ties of equal weight
Bucket = Literal["A", "B", "C", "D", "prospect"]
BUCKETS: tuple[Bucket, ...] = ("A", "B", "C", "D", "prospect")


_GRADE_FIELDS = {"A": "grade_a", "B": "grade_b", "C": "grade_c", "D": "grade_d"}


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
    and tell the rep why they are there. RFM (up to 2, a 5-5-5 buyer) ranks customers of one
    grade by their buying, not only by their revenue rank. An open deal near its close or stuck
    in its stage (4) outranks a due C and a cadence-only B, and sits below a due A.
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
    rfm: float = 2.0
    opportunity: float = 4.0

    def grade_weight(self, grade: Grade) -> float:
        """Cadence weight of a grade."""
        weight: float = getattr(self, _GRADE_FIELDS[grade])
        return weight


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


ReasonFields = tuple[ReasonCode, str, float, dict[str, Any]]  # a Reason's, in its field order


@dataclass(frozen=True)
class DealSignal:
    """The open opportunity that makes a customer worth a visit (near its close or stale)."""

    title: str
    stage: str
    days_without_step: int | None  # set when stale: days since its last stage change
    days_to_close: int | None  # set when near: days to the expected close (< 0: passed)


@dataclass(slots=True)
class Candidate:
    """Everything the planner knows about one customer for one rep and day.

    Treated as immutable, but not frozen: the sweep builds one per customer of every rep, and a
    frozen dataclass's __init__ (object.__setattr__ per field) costs several times a plain one.
    """

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
    rfm: tuple[int, int, int] | None = None  # recency, frequency, monetary: 1-5 each
    weighted_pipeline: Decimal = Decimal(0)  # sum of amount x probability of open deals
    deal: DealSignal | None = None

    @property
    def mandatory(self) -> bool:
        """Promises, manager pins and carry-overs are planned before anything else."""
        return self.promise_due or self.manager_pinned or self.carried_over_from is not None

    @property
    def bucket(self) -> Bucket:
        """Quota bucket: prospects share one bucket whatever their grade."""
        return "prospect" if self.status == "prospect" else self.grade


class ScoredCandidate:
    """A candidate with its score and reasons, and what selection asks of it, worked out once."""

    __slots__ = ("bucket", "candidate", "due", "mandatory", "rank_key", "reasons", "score")

    def __init__(self, candidate: Candidate, score: float, reasons: Iterable[Reason]) -> None:
        self.candidate = candidate
        self.score = score
        self.reasons = tuple(reasons)  # strongest first (score_candidate's)
        # Due today by its grade's cadence (see components): the only kind a quota slot is kept for.
        self.due = any(r.code == "due" for r in self.reasons)
        # Higher score first; the customer id breaks ties so the order is reproducible.
        self.rank_key = (-score, str(candidate.customer_id))
        self.bucket = candidate.bucket
        self.mandatory = candidate.mandatory

    def __repr__(self) -> str:
        return f"ScoredCandidate({self.candidate!r}, {self.score!r})"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _percent_text(share: Decimal) -> str:
    percent = (share * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return "<1%" if percent < 1 else f"{percent}%"


def readiness(c: Candidate) -> float:
    """How ready the customer is to order again: time since it was last met or ordered, over its
    usual order interval (the grade's visit interval when it has no habit yet); at most 1."""
    return ready_after(
        c.days_since_visit, c.days_since_last_order, c.usual_order_interval_days or c.interval_days
    )


def ready_after(visit: int | None, order: int | None, cycle: int) -> float:
    """readiness from the days since the last visit and order and the customer's cycle.

    min(1, max(0, latest) / max(1, cycle)), in comparisons: the sweep works it out for every
    candidate, and the builtins' calls were most of its cost.
    """
    if visit is None:
        if order is None:
            return 1.0
        latest = order
    else:
        latest = visit if order is None or visit <= order else order
    ratio = (latest if latest > 0 else 0) / (cycle if cycle > 1 else 1)
    return ratio if ratio < 1.0 else 1.0


def _plan_gap_share(c: Candidate) -> Decimal | None:
    """What a visit could bring (expected order + weighted pipeline) over the rep's gap."""
    expected = c.expected_order_value + c.weighted_pipeline
    if c.rep_remaining_gap <= 0 or expected <= 0:
        return None
    return expected / c.rep_remaining_gap


def components(c: Candidate, w: ScoringWeights = DEFAULT_WEIGHTS) -> list[tuple[ReasonCode, float]]:
    """Each component of the score (see the module doc) with its unrounded value, if present.

    The one place the numbers are worked out: score_candidate writes the reasons of these
    components, score_only adds them up; the planner calls this for every candidate.
    """
    found: list[tuple[ReasonCode, float]] = []
    since_visit, interval = c.days_since_visit, c.interval_days
    overdue = min(overdue_ratio(since_visit, interval), w.overdue_cap)
    grade = w.grade_weight(c.grade)
    if (value := grade * overdue) > 0:
        found.append(("cadence", value))
    # Due: the last working day on which a visit keeps the customer within its interval (or later).
    if since_visit is None or since_visit + c.days_to_next_working_day > interval:
        if (value := grade * w.due) > 0:
            found.append(("due", value))
    ready = readiness(c)
    if (share := _plan_gap_share(c)) is not None:
        if (value := w.plan_gap * min(1.0, float(share) / w.plan_gap_full_share) * ready) > 0:
            found.append(("plan_gap", value))
    usual, since_order = c.usual_order_interval_days, c.days_since_last_order
    if c.status == "active" and usual and usual > 0 and since_order is not None:
        if since_order >= w.churn_lateness * usual and (value := w.churn_risk * ready) > 0:
            found.append(("churn_risk", value))
    if c.rfm is not None:
        r, f, m = c.rfm
        if (value := w.rfm * (r + f + m - 3) / 12 * ready) > 0:
            found.append(("rfm", value))
    if c.deal is not None and w.opportunity > 0:
        found.append(("opportunity", w.opportunity))
    if c.promise_due:
        found.append(("promise_due", w.promise_due))
    if c.status == "prospect":
        found.append(("prospecting", w.prospecting))
    if c.carried_over_from is not None:
        found.append(("carry_over", w.carry_over))
    if c.manager_pinned:
        found.append(("manager_pin", w.manager_pin))
    return found


def _reason(c: Candidate, code: ReasonCode, value: float) -> ReasonFields:
    """The reason a rep reads for one component (its weight rounded as shown)."""
    weight = hundredths(value) / 100 if value > 0 else round(value, 2)  # round(value, 2), faster
    if code == "cadence":
        every = f"every {_days(c.interval_days)}"
        if c.days_since_visit is None:
            text = f"Grade {c.grade}, never visited ({every})"
        else:
            text = f"Grade {c.grade}, {_days(c.days_since_visit)} since last visit ({every})"
        params = {"grade": c.grade, "days": c.days_since_visit, "interval": c.interval_days}
        return ("cadence", text, weight, params)
    if code == "due":
        params = {"grade": c.grade, "interval": c.interval_days}
        return ("due", "Due before your next working day", weight, params)
    if code == "plan_gap":
        return _plan_gap(c, weight)
    if code == "churn_risk":
        usual, since = c.usual_order_interval_days, c.days_since_last_order
        text = f"Ordering later than usual ({since} d vs {usual} d)"
        return ("churn_risk", text, weight, {"days": since, "usual": usual})
    if code == "rfm" and c.rfm is not None:
        r, f, m = c.rfm
        text = f"RFM {r}-{f}-{m}: how recently, how often and how much it buys"
        return ("rfm", text, weight, {"r": r, "f": f, "m": m})
    if code == "opportunity" and c.deal is not None:
        return _deal(c.deal, weight)
    if code == "promise_due":
        text = f"Promise due: {c.promise_text}" if c.promise_text else "Promise due"
        return ("promise_due", text, weight, {"text": c.promise_text})
    if code == "prospecting":
        return ("prospecting", "Prospect: new business", weight, {})
    if code == "carry_over" and c.carried_over_from is not None:
        day = c.carried_over_from.isoformat()
        return ("carry_over", f"Carried over from {day}", weight, {"date": day})
    return ("manager_pin", "Pinned by your manager", weight, {})


def _plan_gap(c: Candidate, weight: float) -> ReasonFields:
    share, ready = _plan_gap_share(c) or Decimal(0), readiness(c)
    params = {"share": float(round(share, 4)), "readiness": hundredths(ready) / 100}
    if c.weighted_pipeline > 0:
        params["pipeline"] = float(round(c.weighted_pipeline, 2))
    if share >= 1:
        return ("plan_gap", "Could close all of your remaining gap", weight, params)
    text = f"Could close {_percent_text(share)} of your remaining gap"
    return ("plan_gap", text, weight, params)


def _deal(d: DealSignal, weight: float) -> ReasonFields:
    parts = [f"Deal '{d.title}' at {d.stage}"]
    if d.days_without_step is not None:
        parts.append(f"{_days(d.days_without_step)} without a step")
    if d.days_to_close is not None and d.days_to_close >= 0:
        parts.append(f"closes in {_days(d.days_to_close)}")
    elif d.days_to_close is not None:
        parts.append(f"close date passed {_days(-d.days_to_close)} ago")
    params = {
        "title": d.title,
        "stage": d.stage,
        "stale_days": d.days_without_step,
        "close_days": d.days_to_close,
    }
    return ("opportunity", ", ".join(parts), weight, params)


def score_candidate(c: Candidate, weights: ScoringWeights = DEFAULT_WEIGHTS) -> tuple[float, list[Reason]]:
    """Score one candidate; reasons come strongest first."""
    reasons = _reasons(c, weights)
    return _total(reasons), [Reason(*fields) for fields in reasons]


def score_as_stored(
    c: Candidate, weights: ScoringWeights = DEFAULT_WEIGHTS
) -> tuple[float, list[dict[str, Any]]]:
    """score_candidate's score and reasons, the reasons as stored (Reason.to_json) without a Reason
    object each: the planner writes them for every task it creates."""
    reasons = _reasons(c, weights)
    return _total(reasons), [
        {"code": code, "text": text, "weight": weight, "params": params}
        for code, text, weight, params in reasons
    ]


def _reasons(c: Candidate, weights: ScoringWeights) -> list[ReasonFields]:
    # Round each weight first so the shown weights add up to the shown score.
    reasons = [_reason(c, code, value) for code, value in components(c, weights)]
    reasons.sort(key=lambda r: (-r[2], _REASON_RANK[r[0]]))
    return reasons


def _total(reasons: list[ReasonFields]) -> float:
    return round(sum(weight for _, _, weight, _ in reasons), 2)


def score_candidates(
    candidates: Iterable[Candidate], weights: ScoringWeights = DEFAULT_WEIGHTS
) -> list[ScoredCandidate]:
    """Score every candidate, with its reasons; best first."""
    scored = []
    for c in candidates:
        score, reasons = score_candidate(c, weights)
        scored.append(ScoredCandidate(c, score, reasons))
    return sorted(scored, key=lambda s: s.rank_key)
