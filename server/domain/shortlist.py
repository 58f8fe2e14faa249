"""A rep's day's candidates scored straight from their customer rows, keeping (as Contenders)
only those selection could pick (server/domain/effort.py).

build_candidate and a score for every customer cost ~8 µs each, and the plan-day sweep scores
~100 customers for each of 10,000 reps to create ~8 tasks each. Here each customer's score is
worked out from its row with build_candidate's and scoring.components' arithmetic, operation
for operation, but no Candidate:
- each component is counted in hundredths (numbers.hundredths: round(value, 2) without its
  decimal string); the score, their sum / 100, is the double nearest that many hundredths, as is
  score_candidate's rounded sum of rounded weights (whose float error is far below a hundredth);
- customers selection cannot pick are not scored: neither mandatory, nor urgent (a due
  must-visit customer or a deal to move), nor eligible in a bucket with a share. Selection would
  reach them only once every shared bucket ran dry, so all are scored when the eligible
  customers of shared buckets are fewer than the slots;
- of those only eligible, a bucket keeps its best `slots`: no day takes more of a bucket.
compose_day writes Candidates and reasons for the picks only (DayScores.candidate). Tests hold
all of it to build_candidate, score_candidate and select_for_effort over every candidate
(tests/unit/tasks/test_shortlist.py) and to the plans recorded before
(tests/unit/test_compose_golden.py, tests/unit/tasks/test_planner_golden.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple
from uuid import UUID

from server.domain.day_inputs import CustomerRow, OpenDeal, PastTaskLike, PromiseLike
from server.domain.deals import DealRule, deal_signal, weighted_pipeline
from server.domain.effort import Contender, seen_long_enough_ago
from server.domain.grading import Grade
from server.domain.numbers import clear_hundredths, hundredths
from server.domain.policy import overdue_ratio
from server.domain.scoring import (
    Bucket,
    Candidate,
    DealSignal,
    ScoringWeights,
    ready_after,
)

GRADES: tuple[Grade, ...] = ("A", "B", "C", "D")
_GRADES: dict[str, Grade] = {g: g for g in GRADES}  # any other grade counts as D
_ZERO = Decimal(0)
_NO_EXTRAS: tuple[bool, bool, list[OpenDeal] | None] = (False, False, None)  # no promise, task, deal
# What the shortlist works out of a customer row, for its Candidate if it is picked: the row,
# grade, days since the last visit, visit interval, usual order interval, days since the last
# order, and the deal that asks for a visit.
Facts = tuple[CustomerRow, Grade, int | None, int, int | None, int | None, DealSignal | None]


class FixedPoints(NamedTuple):
    """What of the score a set of weights fixes, in hundredths where rounded."""

    grade_weights: dict[Grade, float]
    due: dict[Grade, int]  # by the grades whose "due" counts (a zero weight leaves out its flag too)
    opportunity: int
    promise: int
    prospecting: int
    carry_over: int


@lru_cache(maxsize=16)  # the same weights for every rep of the sweep
def fixed_points(w: ScoringWeights) -> FixedPoints:
    grade_weights = {g: w.grade_weight(g) for g in GRADES}
    return FixedPoints(
        grade_weights,
        {g: hundredths(v) for g in GRADES if (v := grade_weights[g] * w.due) > 0},
        hundredths(w.opportunity) if w.opportunity > 0 else 0,
        hundredths(w.promise_due),
        hundredths(w.prospecting),
        hundredths(w.carry_over),
    )


class DayScores:
    """Scores of one rep's customers on one day, and the contenders among them."""

    def __init__(
        self,
        day: date,
        lead_days: int,
        intervals: Mapping[str, int],
        remaining_gap: Decimal,
        weights: ScoringWeights,
        deal_rule: DealRule,
        promises: Mapping[UUID, PromiseLike],
        carry: Mapping[UUID | str, PastTaskLike],
        deals: Mapping[UUID, list[OpenDeal]],
    ) -> None:
        self.day, self.lead, self.gap, self.weights, self.deal_rule = (
            day,
            lead_days,
            remaining_gap,
            weights,
            deal_rule,
        )
        self.intervals = {g: intervals.get(g) or 30 for g in GRADES}
        # An interval below 1 day (overdue_ratio refuses it) or a zero full share (a division by
        # zero) fails when a customer is scored: then every customer is, so it fails as before.
        self.prune = weights.plan_gap_full_share != 0 and all(v > 0 for v in self.intervals.values())
        self.fixed = fixed_points(weights)
        # By the ids' ints: a UUID's hash and equality are Python calls, ~0.3 µs a lookup.
        self.promises = {key.int: promise for key, promise in promises.items()}
        self.carry = {key.int: task for key, task in carry.items() if isinstance(key, UUID)}
        self.deals = {key.int: listed for key, listed in deals.items()}
        self.extra_ids = {*self.promises, *self.carry, *self.deals}

    def contenders(
        self,
        rows: Iterable[CustomerRow],
        slots: int,
        shared: frozenset[Bucket],
        must_visit: frozenset[Bucket],
        prune: bool = True,
    ) -> list[Contender[Facts]]:
        """The rows selection could pick, scored; `shared`: the buckets with a share of the split.

        `prune=False`: every row, none left out (what selection needs when shared buckets may
        run dry). Rank keys order like ScoredCandidate's (-score, str(customer id)): hundredths
        for the score, the id's int for its text (a UUID's text is its int in hex digits).
        """
        prune = prune and self.prune
        w, day, lead, rule, gap = self.weights, self.day, self.lead, self.deal_rule, self.gap
        intervals, fixed = self.intervals, self.fixed
        grade_weights, due_grades = fixed.grade_weights, fixed.due
        cap, gap_positive, gap_float = w.overdue_cap, gap > 0, float(gap)
        plan_gap, full_share, churn_lateness, churn_risk, rfm = (
            w.plan_gap,
            w.plan_gap_full_share,
            w.churn_lateness,
            w.churn_risk,
            w.rfm,
        )
        # The few customers with a promise due, a missed task or open deals: one lookup a row.
        extras = {
            key: (key in self.promises, key in self.carry, self.deals.get(key)) for key in self.extra_ids
        }
        day_number = day.toordinal()  # days apart as ordinals: no timedelta for each difference
        found: list[Contender[Facts]] = []
        # Eligible in a shared bucket, and neither mandatory nor urgent: (-points, id, due, facts).
        pools: dict[Bucket, list[tuple[int, int, bool, Facts]]] = {b: [] for b in shared}
        pooled = 0
        considered = shared | must_visit
        for row in rows:
            key = row.id.int
            grade = _GRADES.get(row.grade, "D")
            prospect = row.status == "prospect"
            bucket: Bucket = "prospect" if prospect else grade
            promised, carried, open_deals = extras.get(key, _NO_EXTRAS)
            if prune and bucket not in considered and not (promised or carried or open_deals):
                continue  # only a promise, a carry-over or a deal could have it picked
            interval = intervals[grade]
            since = None
            if (visited := row.last_visit_on) is not None:
                since = day_number - visited.toordinal()
                if row.next_visit_due is not None and row.next_visit_due > visited:
                    interval = (row.next_visit_due - visited).days  # a customer-specific rhythm
            deal = deal_signal(open_deals, day, rule, since) if open_deals else None
            mandatory = promised or carried
            due = (since is None or since + lead > interval) and grade in due_grades
            urgent = (due and bucket in must_visit) or deal is not None
            eligible = (
                mandatory
                or due
                or deal is not None
                or since is None
                or seen_long_enough_ago(since, interval, prospect)
            )
            pool = eligible and bucket in shared and not (mandatory or urgent)
            if prune and not (mandatory or urgent or pool):
                continue
            pooled += pool

            # The score in hundredths, component by component as in components(). min() and max()
            # are comparisons here (b if b < a else a is min(a, b)): the calls cost more.
            points = due_grades[grade] if due else 0
            if since is None or interval <= 0:
                overdue = overdue_ratio(since, interval)  # 3 when never visited; raises for no interval
            else:
                overdue = (since if since > 0 else 0) / interval  # overdue_ratio's, without the call
            if (value := grade_weights[grade] * (cap if cap < overdue else overdue)) > 0:
                points += hundredths(value)
            orders = row.orders or 0
            usual = None
            last_on = row.last_on
            if orders >= 2 and row.first_on and last_on:
                usual = round((last_on.toordinal() - row.first_on.toordinal()) / (orders - 1))
                usual = usual if usual > 1 else 1
            last_order = row.last_order_on  # the later of the two dates that are set
            if last_on and (not last_order or last_on > last_order):
                last_order = last_on
            since_order = day_number - last_order.toordinal() if last_order else None
            ready = ready_after(since, since_order, usual or interval)
            revenue = row.revenue
            if gap_positive and (open_deals or (orders and revenue)):
                # Without deals, the share in floats: a few roundings of 1.1e-16 each from the
                # float of the Decimal one, so the same hundredths where they are clear; where not
                # (or with deals), worked out in Decimal as build_candidate does.
                share = float(revenue) / orders / gap_float if not open_deals and revenue else 0.0
                part = share / full_share
                value = plan_gap * (part if part < 1.0 else 1.0) * ready
                sure = clear_hundredths(value) if share > 0 else None
                if sure is None:
                    value = self.plan_gap(revenue, orders, open_deals, ready)
                    sure = hundredths(value)
                if value > 0:
                    points += sure
            if not prospect and usual and since_order is not None and since_order >= churn_lateness * usual:
                if (value := churn_risk * ready) > 0:
                    points += hundredths(value)
            r, f, m = row.r_score, row.f_score, row.m_score
            if r is not None and f is not None and m is not None:
                if (value := rfm * (r + f + m - 3) / 12 * ready) > 0:
                    points += hundredths(value)
            if deal is not None:
                points += fixed.opportunity
            if promised:
                points += fixed.promise
            if prospect:
                points += fixed.prospecting
            if carried:
                points += fixed.carry_over
            facts = (row, grade, since, interval, usual, since_order, deal)
            if pool and prune:
                pools[bucket].append((-points, key, due, facts))
            else:
                found.append(
                    Contender((-points, 0, key), bucket, mandatory, due, deal is not None, eligible, facts)
                )
        if prune and pooled < slots:  # the shared buckets may run dry: selection needs them all
            return self.contenders(rows, slots, shared, must_visit, prune=False)
        for shared_bucket, pool_rows in pools.items():
            pool_rows.sort()  # best first: (-points, id) differs for every customer
            found += [
                Contender((minus_points, 0, key), shared_bucket, False, due, False, True, facts)
                for minus_points, key, due, facts in pool_rows[:slots]
            ]
        return found

    def candidate(self, facts: Facts) -> tuple[Candidate, PromiseLike | None, PastTaskLike | None]:
        """build_candidate's Candidate for a shortlisted row, of the facts worked out here; and
        the row's promise due and missed task to carry over."""
        row, grade, since, interval, usual, since_order, deal = facts
        key = row.id.int
        promise, parent, open_deals = self.promises.get(key), self.carry.get(key), self.deals.get(key)
        orders = row.orders or 0
        r, f, m = row.r_score, row.f_score, row.m_score
        # Positional, in the fields' order: a call with 19 keywords costs three times as much.
        candidate = Candidate(
            row.id,
            grade,
            "prospect" if row.status == "prospect" else "active",
            since,
            interval,
            Decimal(row.revenue or 0) / orders if orders else _ZERO,  # expected_order_value
            self.gap,
            promise is not None,  # promise_due
            promise.text if promise else None,
            usual,
            since_order,
            parent.local_date if parent is not None else None,  # carried_over_from
            False,  # manager_pinned
            self.lead,
            row.lat,
            row.lng,
            None if r is None or f is None or m is None else (r, f, m),
            weighted_pipeline(open_deals) if open_deals else _ZERO,
            deal,
        )
        return candidate, promise, parent

    def plan_gap(
        self, revenue: Decimal | None, orders: int, open_deals: list[OpenDeal] | None, ready: float
    ) -> float:
        """The plan-gap component in Decimal, as build_candidate and components work it out."""
        expected = Decimal(revenue or 0) / orders if orders else _ZERO
        if open_deals:
            expected += weighted_pipeline(open_deals)
        if expected <= 0:
            return 0.0
        share = float(expected / self.gap)
        return self.weights.plan_gap * min(1.0, share / self.weights.plan_gap_full_share) * ready
