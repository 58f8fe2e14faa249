"""The shortlist (server/domain/shortlist.py) scores customer rows without a Candidate: its scores,
flags and Candidates must be build_candidate's and score_candidate's, and selecting from it the
same as selecting from every candidate."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from bench.bench_compose import NOW, RepDay, world
from server.domain.calendar import days_to_next_working_day
from server.domain.compose import build_candidate, compose_day, open_carry_overs
from server.domain.day_inputs import CustomersById
from server.domain.effort import DEFAULT_MUST_VISIT, WeekSoFar, eligible, pick
from server.domain.numbers import clear_hundredths, hundredths
from server.domain.scoring import (
    DEFAULT_WEIGHTS,
    ScoredCandidate,
    ScoringWeights,
    score_candidate,
)
from server.domain.shortlist import DayScores

ODD_WEIGHTS = ScoringWeights(
    grade_b=2.75, overdue_cap=2.5, due=0.0, plan_gap=3.33, plan_gap_full_share=0.013, churn_risk=2.35,
    rfm=1.7, opportunity=0.0, prospecting=1.25,
)  # fmt: skip
GAPS = (Decimal("0.01"), Decimal("333.333"), Decimal("84000.00"))


@pytest.mark.parametrize("seed", range(5))
def test_hundredths_is_round_to_two_places(seed: int) -> None:
    rng = random.Random(seed)
    values = [k / 1000 for k in range(-3000, 30000)]  # every exact and inexact half-hundredth
    values += [rng.uniform(0, 12) for _ in range(20000)] + [rng.uniform(-1e13, 1e13) for _ in range(100)]
    for value in values:
        expected = round(round(value, 2) * 100)
        assert hundredths(value) == expected
        assert clear_hundredths(value) in (None, expected)


def _days(reps: int, seed: int) -> Iterator[tuple[RepDay, ScoringWeights, Decimal]]:
    for n, d in enumerate(world(reps, seed, varied=True)):
        yield d, (DEFAULT_WEIGHTS, ODD_WEIGHTS)[n % 2], GAPS[n % 3] if n % 4 == 3 else d.inputs.remaining_gap


def _scoring(
    d: RepDay, weights: ScoringWeights, gap: Decimal
) -> tuple[CustomersById, dict[UUID | str, Any], DayScores, frozenset[Any]]:
    """A rep day's customers, carry-overs, shortlist scorer and the buckets with a share."""
    customers = CustomersById(d.inputs.customers)
    carry = open_carry_overs(d.inputs, customers)
    lead = days_to_next_working_day(d.day)
    scores = DayScores(
        d.day, lead, d.intervals, gap, weights, d.deal_rule, d.inputs.promises, carry, d.inputs.deals
    )
    return customers, carry, scores, frozenset(b for b, share in d.split.items() if share > 0)


def test_every_row_scores_as_its_candidate() -> None:
    checked = 0
    for d, weights, gap in _days(120, 41):
        customers, carry, scores, shared = _scoring(d, weights, gap)
        rows = list(customers.values())
        contenders = scores.contenders(rows, 8, shared, frozenset(DEFAULT_MUST_VISIT), prune=False)
        assert [c.item[0] for c in contenders] == rows
        for c in contenders:
            row = c.item[0]
            carried = carry[row.id].local_date if row.id in carry else None
            promise, deals = d.inputs.promises.get(row.id), d.inputs.deals.get(row.id)
            candidate = build_candidate(
                row, d.day, d.intervals, gap, promise, carried, deals=deals, deal_rule=d.deal_rule
            )
            assert scores.candidate(c.item) == (candidate, promise, carry.get(row.id))
            score, reasons = score_candidate(candidate, weights)
            assert -c.rank_key[0] / 100 == score  # the very float
            assert c.rank_key[2] == row.id.int
            scored = ScoredCandidate(candidate, score, reasons)
            assert (c.bucket, c.mandatory, c.due) == (scored.bucket, scored.mandatory, scored.due)
            assert (c.has_deal, c.eligible) == (candidate.deal is not None, eligible(scored))
            checked += 1
    assert checked > 8000


def test_the_shortlist_picks_what_every_candidate_would() -> None:
    rng = random.Random(42)
    compared = 0
    for d, weights, gap in _days(300, 43):
        _customers, _carry, scores, shared = _scoring(d, weights, gap)
        rows = rng.sample(d.inputs.customers, min(len(d.inputs.customers), rng.choice([5, 12, 40, 140])))
        week = WeekSoFar({b: rng.randint(0, 9) for b in ("A", "B", "C", "prospect")}, rng.randint(1, 5))
        must = frozenset(DEFAULT_MUST_VISIT)
        for slots in (1, 3, 8, 13):
            every = scores.contenders(rows, slots, shared, must, prune=False)
            shortlisted = scores.contenders(rows, slots, shared, must)
            assert len(shortlisted) <= len(every)
            picked = [c.item[0].id for c in pick(every, slots, d.split, week)]
            assert [c.item[0].id for c in pick(shortlisted, slots, d.split, week)] == picked
            compared += 1
    assert compared == 1200


def test_an_interval_below_a_day_is_refused_as_when_every_candidate_was_scored() -> None:
    d = world(1, 44)[0]
    for listed in (d.inputs.day_tasks, d.inputs.past_tasks, d.inputs.promises, d.inputs.deals):
        listed.clear()
    for row in d.inputs.customers:
        if row.grade == "D" and row.status == "prospect":
            row.grade = "C"
        elif row.grade == "D":
            row.next_visit_due = None  # the grade's interval, not a rhythm of its own
    assert sum(row.grade == "D" and row.status == "active" for row in d.inputs.customers) > 5
    # D has no share: no D customer would be shortlisted, yet the day is refused as before.
    with pytest.raises(ValueError, match="visit interval"):
        compose_day(d.rep, d.day, d.inputs, {**d.intervals, "D": -1}, NOW)
