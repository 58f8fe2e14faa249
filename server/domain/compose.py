"""Composing one rep's day from loaded data: candidates -> scores -> selection -> route.

Pure: no I/O and nothing of server.db. The planner service (server/services/tasks/planner.py)
loads the inputs for many reps at once and writes the result; the inputs' shapes are in
server/domain/day_inputs.py (the service's Task and Promise objects fit them).
Existing tasks of the day (done, skipped, snoozed, added by hand) are kept; they occupy capacity
and their customers are not proposed again. Planned ones are re-ranked and re-routed with the
new tasks; a manager's pin gets fresh reasons when its customer's data is at hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple, cast
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from server.domain.calendar import days_to_next_working_day
from server.domain.day_inputs import (
    CustomerRow,
    CustomersById,
    OpenDeal,
    PastTaskLike,
    PromiseLike,
    RepDayInputs,
    RepRow,
)
from server.domain.day_route import rank_and_route
from server.domain.deals import DEFAULT_DEAL_RULE, DealRule, deal_signal, weighted_pipeline
from server.domain.effort import (
    DEFAULT_MUST_VISIT,
    DEFAULT_SPLIT,
    Contender,
    WeekSoFar,
    pick,
    working_days_left_in_week,
)
from server.domain.grading import Grade
from server.domain.scoring import (
    DEFAULT_WEIGHTS,
    Bucket,
    Candidate,
    ScoringWeights,
    score_as_stored,
)
from server.domain.shortlist import DayScores, Facts

ALGORITHM = "score-effort-route/2"
DAY_END = time(18, 0)  # planned tasks are due by the end of the rep's local working day
GRADES = ("A", "B", "C", "D")
OCCUPYING_STATUSES = ("planned", "snoozed", "done")  # count against the day's capacity
_ZERO = Decimal(0)  # immutable: one for every candidate without orders or deals


@dataclass
class Composition:
    new_rows: list[dict[str, Any]]
    stats: dict[str, Any]


def end_of_day(day: date, tz: str) -> datetime:
    """DAY_END on the rep's local date, as a UTC instant."""
    return datetime.combine(day, DAY_END, ZoneInfo(tz)).astimezone(UTC)


def build_candidate(
    customer: CustomerRow,
    day: date,
    intervals: dict[str, int],
    remaining_gap: Decimal,
    promise: PromiseLike | None = None,
    carried_from: date | None = None,
    pinned: bool = False,
    deals: list[OpenDeal] | None = None,
    deal_rule: DealRule = DEFAULT_DEAL_RULE,
    lead_days: int | None = None,
) -> Candidate:
    """Turn a customer row into the scoring input, deriving order habits from its history.

    `lead_days`: days_to_next_working_day(day), when the caller has it (the same for every
    candidate of a day).
    """
    grade = cast(Grade, customer.grade if customer.grade in GRADES else "D")
    interval = intervals.get(grade) or 30
    if (
        customer.next_visit_due
        and customer.last_visit_on
        and customer.next_visit_due > customer.last_visit_on
    ):
        interval = (customer.next_visit_due - customer.last_visit_on).days  # a customer-specific rhythm
    orders = customer.orders or 0
    expected = Decimal(customer.revenue or 0) / orders if orders else _ZERO
    usual = None
    if orders >= 2 and customer.first_on and customer.last_on:
        usual = max(1, round((customer.last_on - customer.first_on).days / (orders - 1)))
    last_order = customer.last_order_on  # the later of the two dates that are set
    if customer.last_on and (not last_order or customer.last_on > last_order):
        last_order = customer.last_on
    days_since_visit = (day - customer.last_visit_on).days if customer.last_visit_on else None
    return Candidate(
        customer_id=customer.id,
        grade=grade,
        status="prospect" if customer.status == "prospect" else "active",
        days_since_visit=days_since_visit,
        interval_days=interval,
        expected_order_value=expected,
        rep_remaining_gap=remaining_gap,
        promise_due=promise is not None,
        promise_text=promise.text if promise else None,
        usual_order_interval_days=usual,
        days_since_last_order=(day - last_order).days if last_order else None,
        carried_over_from=carried_from,
        manager_pinned=pinned,
        days_to_next_working_day=days_to_next_working_day(day) if lead_days is None else lead_days,
        lat=customer.lat,
        lng=customer.lng,
        rfm=_rfm(customer),
        weighted_pipeline=weighted_pipeline(deals) if deals else _ZERO,
        deal=deal_signal(deals, day, deal_rule, days_since_visit) if deals else None,
    )


def _rfm(customer: CustomerRow) -> tuple[int, int, int] | None:
    if customer.r_score is None or customer.f_score is None or customer.m_score is None:
        return None
    return (customer.r_score, customer.f_score, customer.m_score)


def bucket_of(customer: CustomerRow) -> Bucket:
    """The effort bucket of a customer: prospects share one, the rest by grade."""
    if customer.status == "prospect":
        return "prospect"
    return cast(Bucket, customer.grade if customer.grade in GRADES else "D")


def open_carry_overs(inputs: RepDayInputs, customers: CustomersById) -> dict[UUID | str, PastTaskLike]:
    """Missed tasks not carried yet, newest per customer (or per task when it has none).

    A customer visited since the task's day needs no carry-over.
    """
    carried = {t.carried_from_id for t in [*inputs.past_tasks, *inputs.day_tasks] if t.carried_from_id}
    found: dict[UUID | str, PastTaskLike] = {}
    for task in sorted(inputs.past_tasks, key=lambda t: t.local_date):
        if task.status != "missed" or task.id in carried:
            continue
        if task.customer_id is None:
            found[f"task:{task.id}"] = task
            continue
        customer = customers.get(task.customer_id)
        if customer and not (customer.last_visit_on and customer.last_visit_on >= task.local_date):
            found[task.customer_id] = task
    return found


def compose_day(
    rep: RepRow,
    day: date,
    inputs: RepDayInputs,
    intervals: dict[str, int],
    now: datetime,
    fill: bool = True,
    weights: ScoringWeights = DEFAULT_WEIGHTS,
    split: Mapping[Bucket, float] = DEFAULT_SPLIT,
    deal_rule: DealRule = DEFAULT_DEAL_RULE,
) -> Composition:
    """Pick the day's new tasks up to capacity, then rank and route every open task of the day.

    The picks follow the company's effort `split` over the week (server/domain/effort.py).
    Existing open tasks (`inputs.day_tasks`) are updated in place.
    """
    customers = CustomersById(inputs.customers)
    taken = {t.customer_id.int for t in inputs.day_tasks if t.customer_id}
    occupied = sum(1 for t in inputs.day_tasks if t.status in OCCUPYING_STATUSES)
    slots = max(0, rep.daily_capacity - occupied) if fill else 0
    gap = inputs.remaining_gap
    lead = days_to_next_working_day(day)

    for task in inputs.day_tasks:  # pins get today's full reasons next to "pinned by manager"
        pinned = customers.get(task.customer_id)
        if task.status == "planned" and task.source == "manager" and pinned is not None:
            candidate = build_candidate(
                pinned, day, intervals, gap, pinned=True,
                deals=inputs.deals.get(pinned.id), deal_rule=deal_rule, lead_days=lead,
            )  # fmt: skip
            task.score, task.reasons = score_as_stored(candidate, weights)

    carry = open_carry_overs(inputs, customers) if fill else {}
    open_customers = (
        [c for c in customers.values() if c.id.int not in taken] if taken else [*customers.values()]
    )
    alone = [(key, task) for key, task in carry.items() if isinstance(key, str)]
    contenders: list[Contender[Facts | Candidate]] = []
    scores = DayScores(day, lead, intervals, gap, weights, deal_rule, inputs.promises, carry, inputs.deals)
    if slots:  # nothing to pick: nothing is scored (only counted, for the stats)
        shared = frozenset(b for b, share in split.items() if share > 0)
        contenders += scores.contenders(open_customers, slots, shared, frozenset(DEFAULT_MUST_VISIT))
        contenders += [_carried_alone(key, task, weights) for key, task in alone]
    week = _week_so_far(inputs, customers, day)
    selected = [_picked(c, scores, carry, weights) for c in pick(contenders, slots, split, week)]
    due_at = end_of_day(day, rep.timezone)
    rows = [_new_row(rep, day, s, due_at, now) for s in selected]
    route_m = rank_and_route(rep.start, rows, inputs.day_tasks, customers, inputs.coords)

    buckets: dict[str, int] = {}
    for s in selected:
        buckets[s.bucket] = buckets.get(s.bucket, 0) + 1
    stats = {
        "candidates": len(open_customers) + len(alone),
        "capacity": rep.daily_capacity,
        "kept": len(inputs.day_tasks),
        "selected": len(rows),
        "mandatory": sum(1 for s in selected if s.mandatory),
        "must_visit": sum(
            1 for s in selected if not s.mandatory and s.due and s.bucket in DEFAULT_MUST_VISIT
        ),
        "carried_over": sum(1 for s in selected if s.candidate.carried_over_from),
        "promises": sum(1 for s in selected if s.candidate.promise_due),
        "deals": sum(1 for s in selected if s.candidate.deal is not None),
        "buckets": buckets,
        "week_before": dict(week.visits),
        "remaining_gap": str(gap),
        "route_m": round(route_m),
    }
    return Composition(rows, stats)


class Picked(NamedTuple):
    """A pick, with its candidate, score and reasons as stored (tasks.reasons)."""

    candidate: Candidate
    score: float
    reasons: list[dict[str, Any]]
    bucket: Bucket
    mandatory: bool
    due: bool
    customer: CustomerRow | None  # None for a task without a customer
    promise: PromiseLike | None  # the promise due
    parent: PastTaskLike | None  # the task carried over


def _carried_alone(key: str, task: PastTaskLike, weights: ScoringWeights) -> Contender[Candidate]:
    """A task without a customer carries over as itself: no cadence, no quota."""
    candidate = Candidate(
        customer_id=key,
        grade="D",
        status="active",
        days_since_visit=0,
        interval_days=1,
        days_to_next_working_day=0,  # not a visit: never "due" by cadence
        carried_over_from=task.local_date,
    )
    score, reasons = score_as_stored(candidate, weights)
    due = any(r["code"] == "due" for r in reasons)
    # In hundredths, as the customers' keys; after every customer of the same score, as its key's
    # text ("task:...") after a UUID's.
    rank_key = (-round(score * 100), 1, key)
    return Contender(rank_key, candidate.bucket, True, due, False, True, candidate)


def _picked(
    contender: Contender[Facts | Candidate],
    scores: DayScores,
    carry: dict[UUID | str, PastTaskLike],
    weights: ScoringWeights,
) -> Picked:
    """A pick's candidate and reasons (its score is the one it was ranked by)."""
    item = contender.item
    customer: CustomerRow | None = None
    promise: PromiseLike | None = None
    parent: PastTaskLike | None
    if isinstance(item, Candidate):
        candidate, parent = item, carry[cast(str, item.customer_id)]
    else:
        customer = item[0]
        candidate, promise, parent = scores.candidate(item)
    score, reasons = score_as_stored(candidate, weights)  # an int 0 without any reason, as before
    return Picked(
        candidate,
        score,
        reasons,
        contender.bucket,
        contender.mandatory,
        contender.due,
        customer,
        promise,
        parent,
    )


def _week_so_far(inputs: RepDayInputs, customers: CustomersById, day: date) -> WeekSoFar:
    """The week's completed visits of earlier days plus the tasks the day already holds."""
    visits: dict[Bucket, int] = {}
    for bucket, n in inputs.week_visits.items():
        visits[cast(Bucket, bucket)] = visits.get(cast(Bucket, bucket), 0) + n
    for task in inputs.day_tasks:
        customer = customers.get(task.customer_id)
        if customer is not None and task.status in OCCUPYING_STATUSES:
            visits[bucket_of(customer)] = visits.get(bucket_of(customer), 0) + 1
    return WeekSoFar(visits, working_days_left_in_week(day))


def _new_row(rep: RepRow, day: date, picked: Picked, due_at: datetime, now: datetime) -> dict[str, Any]:
    customer, promise, parent = picked.customer, picked.promise, picked.parent
    if parent is not None:
        kind, title = parent.kind, parent.title
    elif promise is not None:
        kind, title = "follow_up", promise.text[:300]
    else:
        located = customer is not None and customer.lat is not None and customer.lng is not None
        kind, title = ("visit" if located else "call"), None
    return {
        "id": uuid4(),
        "rep_id": rep.id,
        "local_date": day,
        "customer_id": customer.id if customer else None,
        "kind": kind,
        "title": title,
        "rank": None,
        "route_order": None,
        "score": picked.score,
        "reasons": picked.reasons,
        "status": "planned",
        "due_at": due_at,
        "source": "carry_over" if parent is not None else "planner",
        "created_by": None,
        "checkin_id": None,
        "promise_id": promise.id if promise else (parent.promise_id if parent else None),
        "carried_from_id": parent.id if parent else None,
        "status_reason": None,
        "status_note": None,
        "snoozed_until": None,
        "status_changed_at": None,
        "distance_m": None,
        "reminders_sent": 0,
        "last_reminded_at": None,
        "created_at": now,
        "updated_at": now,
    }
