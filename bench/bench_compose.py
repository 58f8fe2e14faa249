"""Benchmark: composing one rep's day (server/domain/compose.py::compose_day), no database.

    .venv/bin/python -m bench.bench_compose [--reps 2000] [--runs 7] [--profile]

Builds a deterministic synthetic world (seeded): reps with ~100 candidates each (grades A-D
and ~8% prospects, visits on their grade's cadence with some overdue and some never visited,
a year of orders with Decimal revenue, RFM scores, a few promises, open deals, missed tasks to
carry over and manager pins), customers scattered around a city, daily capacity 8, on weekdays.
Each run composes every rep's day once; the figure is the median run's CPU time per rep.

The floor, timed in the same runs: iterating the same CustomerRow objects and building one
tuple per candidate, the least any per-candidate planning can cost. compose / floor is the
figure to compare across runs on a shared machine.

`world(..., varied=True)` widens the world for tests/unit/test_compose_golden.py (weekends,
capacities 0-20, reps without a start point, no fill, other splits and deal rules): changing
this generator changes that golden file's inputs.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import statistics
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from server.domain.compose import compose_day
from server.domain.day_inputs import CustomerRow, OpenDeal, PastTask, PromiseRow, RepDayInputs, RepRow
from server.domain.deals import DEFAULT_DEAL_RULE, DealRule
from server.domain.effort import DEFAULT_SPLIT
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.domain.scoring import Bucket

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
MONDAY = date(2026, 11, 16)
CITY = (48.137, 11.575)
ZONES = ("Europe/Berlin", "Asia/Shanghai", "America/Los_Angeles", "Asia/Kolkata")
# Share of a rep's customers per bucket (the demo seed's Pareto ABC gives roughly these).
BUCKET_WEIGHTS = {"A": 15, "B": 22, "C": 30, "D": 25, "prospect": 8}
SPLITS: tuple[dict[Bucket, float], ...] = (
    dict(DEFAULT_SPLIT),
    {"A": 0.5, "B": 0.25, "C": 0.15, "prospect": 0.1},
    {"A": 0.3, "B": 0.3, "C": 0.3},
)
RULES = (DEFAULT_DEAL_RULE, DealRule(7, 30), DealRule(30, 10))
ALT_INTERVALS = {"A": 5, "B": 10, "C": 21, "D": 45}


@dataclass
class KeptTask:
    """A task already on the day (fits DayTask)."""

    id: UUID
    customer_id: UUID | None
    local_date: date
    status: str
    source: str
    kind: str
    title: str | None = None
    carried_from_id: UUID | None = None
    promise_id: UUID | None = None
    score: float = 1.0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    rank: int | None = None
    route_order: int | None = None
    distance_m: float | None = None


class RepDay(NamedTuple):
    """compose_day's arguments for one rep."""

    rep: RepRow
    day: date
    inputs: RepDayInputs
    intervals: dict[str, int]
    fill: bool
    split: dict[Bucket, float]
    deal_rule: DealRule


def _id(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128))


def _customer(
    rng: random.Random, rep_id: UUID, day: date, home: tuple[float, float], varied: bool
) -> CustomerRow:
    bucket = rng.choices(list(BUCKET_WEIGHTS), list(BUCKET_WEIGHTS.values()))[0]
    prospect = bucket == "prospect"
    grade = rng.choice("BCD") if prospect else bucket
    if varied and rng.random() < 0.03:
        grade = "X"  # an unknown grade counts as D
    interval = DEFAULT_VISIT_INTERVALS[grade if grade in "ABCD" else "D"]
    last_visit = next_due = None
    if rng.random() < (0.5 if prospect else 0.95):  # visited: around its cadence, some overdue
        last_visit = day - timedelta(days=rng.randint(-1 if varied else 0, int(interval * 1.6)))
        if rng.random() < 0.2:
            next_due = last_visit + timedelta(days=rng.randint(-3, 40))
    orders = 0 if prospect else rng.choice([0, 1, 2, 3, 5, 8, 12, 24, 52])
    first_on = last_on = revenue = None
    if orders:
        first_on = day - timedelta(days=rng.randint(30, 364))
        last_on = first_on + timedelta(days=rng.randint(0, (day - first_on).days))
        revenue = Decimal(rng.randint(4_000, 120_000) * orders) / 100
    scored = not prospect and rng.random() < 0.9
    located = rng.random() < (0.9 if varied else 0.97)
    return CustomerRow(
        id=_id(rng),
        owner_rep_id=rep_id,
        grade=grade,
        status="prospect" if prospect else "active",
        lat=round(home[0] + rng.gauss(0, 0.04), 6) if located else None,
        lng=round(home[1] + rng.gauss(0, 0.06), 6) if located else None,
        last_visit_on=last_visit,
        next_visit_due=next_due,
        last_order_on=day - timedelta(days=rng.randint(1, 200)) if rng.random() < 0.3 else None,
        orders=None if not orders and rng.random() < 0.5 else orders,
        revenue=revenue,
        first_on=first_on,
        last_on=last_on,
        r_score=rng.randint(1, 5) if scored else None,
        f_score=rng.randint(1, 5) if scored else None,
        m_score=rng.randint(1, 5) if scored else None,
    )


def _deals(rng: random.Random, customer_id: UUID, day: date) -> list[OpenDeal]:
    """One to three open deals: some near their close (or past it), some stale."""
    return [
        OpenDeal(
            customer_id,
            rng.choice(["Renewal", "Fit-out", "Pilot", "Expansion"]),
            rng.choice(["Qualify", "Proposal", "Negotiation"]),
            Decimal(rng.randint(1_000, 2_000_000)) / 10,
            Decimal(rng.choice([10, 25, 50, 75, 90])) / 100,
            rng.choice([None, day + timedelta(days=rng.randint(-20, 60))]),
            day - timedelta(days=rng.randint(0, 60)),
        )
        for _ in range(rng.choice([1, 1, 2, 3]))
    ]


def _past_tasks(rng: random.Random, customers: list[CustomerRow], day: date) -> list[PastTask]:
    """The last week's missed and finished tasks, a customer-less one, a carried copy."""
    past = []
    for c in rng.sample(customers, min(len(customers), rng.choice([0, 1, 2, 4]))):
        status = rng.choice(["missed", "missed", "done", "skipped"])
        when = day - timedelta(days=rng.randint(1, 7))
        past.append(PastTask(_id(rng), c.id, when, status, None, "visit", None, None))
    if rng.random() < 0.15:
        past.append(
            PastTask(_id(rng), None, day - timedelta(days=1), "missed", None, "custom", "Expenses", None)
        )
    if past and rng.random() < 0.3:  # already carried once: not carried again
        parent = rng.choice(past)
        past.append(PastTask(_id(rng), parent.customer_id, day - timedelta(days=1), "missed", parent.id,
                             "visit", None, None))  # fmt: skip
    return past


def _day_tasks(rng: random.Random, customers: list[CustomerRow], day: date, varied: bool) -> list[KeptTask]:
    """Tasks already on the day: mostly none at the nightly sweep; a manager's pin now and then."""
    kept = []
    picks = rng.choice([0, 0, 0, 1, 3] if varied else [0] * 8 + [1])
    for c in rng.sample(customers, min(len(customers), picks)):
        status, source = rng.choice([("done", "planner"), ("snoozed", "planner"), ("planned", "manager"),
                                     ("planned", "planner"), ("skipped", "planner")])  # fmt: skip
        if not varied:
            status, source = "planned", "manager"
        task = KeptTask(_id(rng), c.id, day, status, source, rng.choice(["visit", "call"]))
        task.score = rng.choice([0.0, 3.5, 9.25])
        kept.append(task)
    return kept


def _rep_day(rng: random.Random, n: int, varied: bool) -> RepDay:
    day = MONDAY + timedelta(days=n % 7 if varied else n % 5)
    home = (CITY[0] + rng.uniform(-0.3, 0.3), CITY[1] + rng.uniform(-0.4, 0.4))
    start = home if not varied or rng.random() < 0.85 else (None, None)
    capacity = rng.choice([0, 1, 4, 8, 8, 8, 12, 20]) if varied else 8
    rep = RepRow(_id(rng), ZONES[n % len(ZONES)], None, *start, capacity, None)
    size = rng.randint(0, 140) if varied and n % 10 == 0 else rng.randint(85, 115)
    customers = [_customer(rng, rep.id, day, home, varied) for _ in range(size)]
    inputs = RepDayInputs(customers=customers)
    inputs.remaining_gap = rng.choice([Decimal(0), Decimal(-500), Decimal("12000.50"), Decimal("84000.00")])
    inputs.week_visits = {b: rng.randint(0, 8) for b in rng.sample(["A", "B", "C", "D", "prospect"], 3)}
    for c in rng.sample(customers, min(len(customers), rng.choice([0, 0, 1, 2, 3]))):
        inputs.promises[c.id] = PromiseRow(_id(rng), rng.choice(["Quote", "Samples for the new line", ""]))
    for c in rng.sample(customers, min(len(customers), rng.randint(2, 10))):
        inputs.deals[c.id] = _deals(rng, c.id, day)
    inputs.past_tasks = [*_past_tasks(rng, customers, day)]
    inputs.day_tasks = [*_day_tasks(rng, customers, day, varied)]
    if varied and rng.random() < 0.1:  # a pin on a customer the rep does not own: coordinates loaded
        outside = _id(rng)
        inputs.coords[outside] = (home[0] + 0.1, home[1] - 0.1)
        inputs.day_tasks.append(KeptTask(_id(rng), outside, day, "planned", "manager", "visit", score=6.0))
    intervals = dict(DEFAULT_VISIT_INTERVALS)
    if varied and rng.random() < 0.3:
        intervals = dict(ALT_INTERVALS)
    fill = not (varied and n % 23 == 0)
    split, rule = (SPLITS[n % len(SPLITS)], RULES[n % len(RULES)]) if varied else (SPLITS[0], RULES[0])
    if varied and n % 50 == 25:
        rep, inputs = _seen_today(rep, inputs, day)
    return RepDay(rep, day, inputs, intervals, fill, split, rule)


def _seen_today(rep: RepRow, inputs: RepDayInputs, day: date) -> tuple[RepRow, RepDayInputs]:
    """A small book all visited today, with no orders: the day's slots go to customers without a
    single reason (a score of 0)."""
    customers = inputs.customers[:6]
    for c in customers:
        c.status, c.last_visit_on, c.next_visit_due, c.last_order_on = "active", day, None, None
        c.orders = c.revenue = c.first_on = c.last_on = c.r_score = c.f_score = c.m_score = None
    return replace(rep, daily_capacity=8), RepDayInputs(customers=customers)


def world(reps: int, seed: int = 7, varied: bool = False) -> list[RepDay]:
    """`reps` reps' days, the same for a seed."""
    rng = random.Random(seed)
    return [_rep_day(rng, n, varied) for n in range(reps)]


def compose_all(days: list[RepDay]) -> None:
    for d in days:
        compose_day(d.rep, d.day, d.inputs, d.intervals, NOW, d.fill, split=d.split, deal_rule=d.deal_rule)


def floor(days: list[RepDay]) -> int:
    """One tuple per candidate from the same rows: the least per-candidate work."""
    built = 0
    for d in days:
        built += len([(c.id, c.grade, c.last_visit_on) for c in d.inputs.customers])
    return built


def _cpu_ms_per_rep(run: Any, days: list[RepDay]) -> float:
    gc.collect()
    started = time.process_time()
    run(days)
    return (time.process_time() - started) * 1000 / len(days)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run instead")
    args = parser.parse_args()
    days = world(args.reps)
    candidates = sum(len(d.inputs.customers) for d in days) / len(days)
    print(f"{args.reps} reps, {candidates:.0f} candidates per rep, capacity 8")
    if args.profile:
        cProfile.runctx("compose_all(days)", globals(), {"days": days}, "/tmp/bench_compose.prof")
        pstats.Stats("/tmp/bench_compose.prof").sort_stats("tottime").print_stats(25)
        return
    compose_all(days)  # warm-up
    composed, floors = [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine
        floors.append(_cpu_ms_per_rep(floor, days))
        composed.append(_cpu_ms_per_rep(compose_all, days))
    compose_ms, floor_ms = statistics.median(composed), statistics.median(floors)
    print(f"compose_day: {compose_ms:.3f} ms/rep (CPU, median of {args.runs} runs)")
    print(f"floor:       {floor_ms * 1000:.1f} µs/rep (one tuple per candidate)")
    print(f"compose / floor: {compose_ms / floor_ms:.0f}x")


if __name__ == "__main__":
    main()
