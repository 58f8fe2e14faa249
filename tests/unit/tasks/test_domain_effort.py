"""select_for_effort: promises and pins first, due customers within their ceiling, then the
company's effort split over the week, then by score (server/domain/effort.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date

import pytest

from server.domain.effort import (
    EFFORT_TOLERANCE,
    WeekSoFar,
    eligible,
    select_for_effort,
    validate_split,
    working_days_left_in_week,
)
from server.domain.scoring import Candidate, DealSignal, Reason, ScoredCandidate

BASE = Candidate(customer_id="c1", grade="A", status="active", days_since_visit=5, interval_days=7)
DUE = Reason("due", "Due before your next working day", 1.0)
SPLIT = {"A": 0.4, "B": 0.3, "C": 0.2, "prospect": 0.1}
INTERVAL = {"A": 7, "B": 14, "C": 30, "D": 60}


def make(
    n: int, prefix: str, score_from: float, due: bool = False, **changes: object
) -> list[ScoredCandidate]:
    """n candidates with descending scores, half-way or more through their interval (eligible)."""
    grade = str(changes.get("grade", "A"))
    changes.setdefault("interval_days", INTERVAL[grade])
    changes.setdefault("days_since_visit", INTERVAL[grade] - 1)
    return [
        ScoredCandidate(
            replace(BASE, customer_id=f"{prefix}{i:02d}", **changes),  # type: ignore[arg-type]
            score_from - i * 0.01,
            (DUE,) if due else (),
        )
        for i in range(n)
    ]


def buckets(selected: list[ScoredCandidate]) -> dict[str, int]:
    return dict(Counter(s.candidate.bucket for s in selected))


POOL = (
    make(20, "a", 10.0, grade="A")
    + make(20, "b", 5.0, grade="B")
    + make(20, "c", 3.0, grade="C")
    + make(20, "p", 1.0, grade="D", status="prospect")
)


def test_the_split_holds_even_when_a_outscores_everything() -> None:
    selected = select_for_effort(POOL, 10, SPLIT)
    assert buckets(selected) == {"A": 4, "B": 3, "C": 2, "prospect": 1}
    assert [s.candidate.customer_id for s in selected[:4]] == ["a00", "a01", "a02", "a03"]


def test_the_week_so_far_steers_the_day_to_the_buckets_behind() -> None:
    # Monday and Tuesday went to A's (16 of 16): Wednesday's 8 go to B, C and prospects.
    week = WeekSoFar({"A": 16}, working_days_left=3)
    assert buckets(select_for_effort(POOL, 8, SPLIT, week)) == {"B": 4, "C": 3, "prospect": 1}
    # A week on its split gets the split again.
    week = WeekSoFar({"A": 6, "B": 5, "C": 3, "prospect": 2}, working_days_left=4)
    assert buckets(select_for_effort(POOL, 8, SPLIT, week)) == {"A": 3, "B": 2, "C": 2, "prospect": 1}


def test_a_week_of_days_ends_within_tolerance_of_the_split() -> None:
    week: Counter[str] = Counter()
    for day_left in (5, 4, 3, 2, 1):
        day = select_for_effort(POOL, 8, SPLIT, WeekSoFar(dict(week), day_left))  # type: ignore[arg-type]
        week.update(s.candidate.bucket for s in day)
    total = sum(week.values())
    assert total == 40
    for bucket, share in SPLIT.items():
        assert abs(week[bucket] / total - share) <= EFFORT_TOLERANCE


def test_a_bucket_without_enough_customers_worth_a_visit_gives_its_share_away() -> None:
    # Two C's in the book, one seen yesterday (not eligible), no prospects: the shares of C and
    # prospects go to A and B in proportion (4:3), not to the best scores (A's).
    fresh = make(1, "cy", 9.0, grade="C", days_since_visit=1)
    pool = (
        make(20, "a", 10.0, grade="A") + make(20, "b", 5.0, grade="B") + make(1, "c", 3.0, grade="C") + fresh
    )
    selected = select_for_effort(pool, 15, SPLIT)
    assert buckets(selected) == {"A": 8, "B": 6, "C": 1}
    assert "cy00" not in {s.candidate.customer_id for s in selected}


def test_leftover_slots_go_by_score_when_nothing_else_is_worth_it() -> None:
    pool = make(20, "a", 10.0, grade="A") + make(2, "b", 1.0, grade="B")
    assert buckets(select_for_effort(pool, 10, SPLIT)) == {"A": 8, "B": 2}
    d_only = make(2, "a", 10.0, grade="A") + make(5, "d", 2.0, grade="D")
    assert buckets(select_for_effort(d_only, 5, SPLIT)) == {"A": 2, "D": 3}  # D has no share


def test_due_customers_come_first_up_to_their_ceiling_for_the_week() -> None:
    # Monday: 12 A's due and a week of 40 visits ahead; A's ceiling is 45% of 40 = 18.
    due_as = make(12, "a", 10.0, due=True, grade="A")
    others = make(10, "b", 12.0, grade="B") + make(5, "c", 11.0, grade="C")
    selected = select_for_effort(due_as + others, 8, SPLIT, WeekSoFar({}, working_days_left=5))
    assert buckets(selected) == {"A": 8}
    # Friday, with 18 A visits already in a week of 32 (ceiling 18): due A's get the allowance
    # of 5 more points (2 visits of 40), the rest waits; a deal's customer gets no allowance.
    week = WeekSoFar({"A": 18, "B": 8, "C": 4, "prospect": 2}, working_days_left=1)
    assert buckets(select_for_effort(due_as + others, 8, SPLIT, week)).get("A", 0) == 2
    deal = DealSignal("Spring order", "Proposal", 30, None)
    a_deal = make(1, "ad", 1.0, grade="A", days_since_visit=1, deal=deal)
    assert "ad00" not in {s.candidate.customer_id for s in select_for_effort(a_deal + others, 8, SPLIT, week)}


def test_due_a_customers_go_before_other_due_customers() -> None:
    pool = make(3, "a", 10.0, due=True, grade="A") + make(3, "b", 14.0, due=True, grade="B")
    ids = [s.candidate.customer_id for s in select_for_effort(pool, 3, SPLIT, WeekSoFar({}, 5))]
    assert sorted(ids) == ["a00", "a01", "a02"]
    # Other due customers share the day by the split: many due B's do not crowd out the C's.
    pool += make(10, "bb", 13.0, due=True, grade="B") + make(3, "c", 2.0, due=True, grade="C")
    assert buckets(select_for_effort(pool, 9, SPLIT, WeekSoFar({}, 5))) == {"A": 3, "B": 4, "C": 2}


def test_a_deal_to_move_is_picked_like_a_due_customer() -> None:
    deal = DealSignal("Spring order", "Proposal", 12, 9)
    with_deal = make(1, "cd", 2.0, grade="C", days_since_visit=2, deal=deal)  # seen 2 days ago
    pool = make(2, "a", 10.0, due=True, grade="A") + make(10, "b", 12.0, grade="B") + with_deal
    selected = select_for_effort(pool, 3, SPLIT, WeekSoFar({}, 5))
    assert [s.candidate.customer_id for s in selected] == ["a00", "a01", "cd00"]
    assert eligible(with_deal[0])


def test_mandatory_items_come_first_and_count_against_their_bucket() -> None:
    pinned = make(4, "m", 0.5, grade="A", manager_pinned=True)
    selected = select_for_effort(POOL + pinned, 10, SPLIT)
    assert [s.candidate.customer_id for s in selected[:4]] == ["m00", "m01", "m02", "m03"]
    assert buckets(selected) == {"A": 4, "B": 3, "C": 2, "prospect": 1}
    promised = make(5, "q", 0.1, grade="C", promise_due=True)
    assert [s.candidate.customer_id for s in select_for_effort(POOL + promised, 3, SPLIT)] == [
        "q00",
        "q01",
        "q02",
    ]


def test_selection_is_deterministic_on_ties() -> None:
    tied = [ScoredCandidate(replace(BASE, customer_id=cid), 5.0, ()) for cid in ["z", "m", "a", "q"]]
    first = select_for_effort(tied, 2, SPLIT)
    assert [s.candidate.customer_id for s in first] == ["a", "m"]
    assert first == select_for_effort(list(reversed(tied)), 2, SPLIT)


def test_capacity_edges() -> None:
    assert select_for_effort(POOL, 0, SPLIT) == []
    assert len(select_for_effort(POOL, 100, SPLIT)) == len(POOL)
    with pytest.raises(ValueError, match="capacity"):
        select_for_effort(POOL, -1, SPLIT)


@pytest.mark.parametrize("split", [{"A": 0.7, "B": 0.5}, {"A": -0.1}, {"A": 1.5}, {"vip": 0.1}])
def test_bad_splits_are_refused(split: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="effort split"):
        validate_split(split)


@pytest.mark.parametrize(
    ("day", "left"),
    [(date(2026, 11, 16), 5), (date(2026, 11, 18), 3), (date(2026, 11, 20), 1), (date(2026, 11, 21), 1)],
)
def test_working_days_left_in_week(day: date, left: int) -> None:
    assert working_days_left_in_week(day) == left
