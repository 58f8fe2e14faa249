from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from server.domain.scoring import (
    Candidate,
    Reason,
    ScoredCandidate,
    ScoringWeights,
    quota_slots,
    score_candidate,
    score_candidates,
    select_with_quotas,
)

BASE = Candidate(customer_id="c1", grade="A", status="active", days_since_visit=0, interval_days=7)


def reasons_of(c: Candidate, weights: ScoringWeights | None = None) -> dict[str, Reason]:
    _, reasons = score_candidate(c, weights or ScoringWeights())
    return {r.code: r for r in reasons}


@pytest.mark.parametrize(
    ("changes", "text", "weight"),
    [
        ({"days_since_visit": 12}, "Grade A, 12 days since last visit (every 7 days)", 6.86),
        ({"days_since_visit": 7}, "Grade A, 7 days since last visit (every 7 days)", 4.0),
        ({"days_since_visit": 100}, "Grade A, 100 days since last visit (every 7 days)", 12.0),
        ({"grade": "B", "days_since_visit": 1, "interval_days": 14},
         "Grade B, 1 day since last visit (every 14 days)", 0.21),
        ({"grade": "D", "days_since_visit": None, "interval_days": 60},
         "Grade D, never visited (every 60 days)", 3.0),
        ({"grade": "C", "days_since_visit": 30, "interval_days": 30},
         "Grade C, 30 days since last visit (every 30 days)", 2.0),
    ],
)  # fmt: skip
def test_cadence_reason(changes: dict[str, object], text: str, weight: float) -> None:
    reason = reasons_of(replace(BASE, **changes))["cadence"]  # type: ignore[arg-type]
    assert (reason.text, reason.weight) == (text, weight)


def test_just_visited_has_no_cadence_reason() -> None:
    assert "cadence" not in reasons_of(BASE)


@pytest.mark.parametrize(
    ("expected_order", "gap", "text", "weight"),
    [
        ("800", "10000", "Could close 8% of your remaining gap", 2.4),
        ("1000", "10000", "Could close 10% of your remaining gap", 3.0),
        ("2500", "10000", "Could close 25% of your remaining gap", 3.0),  # capped
        ("30", "10000", "Could close <1% of your remaining gap", 0.09),
        ("12000", "10000", "Could close all of your remaining gap", 3.0),
        ("0", "10000", None, None),
        ("800", "0", None, None),  # target already met: no gap to close
    ],
)
def test_plan_gap_reason(expected_order: str, gap: str, text: str | None, weight: float | None) -> None:
    c = replace(
        BASE, days_since_visit=7, expected_order_value=Decimal(expected_order), rep_remaining_gap=Decimal(gap)
    )
    reason = reasons_of(c).get("plan_gap")
    found = (reason.text, reason.weight) if reason else (None, None)
    assert found == (text, weight)
    if reason:
        share = pytest.approx(float(expected_order) / float(gap), abs=1e-4)
        assert reason.params == {"share": share, "readiness": 1.0}


@pytest.mark.parametrize(
    ("since_visit", "since_order", "usual", "readiness"),
    [
        (1, None, None, 1 / 7),  # met yesterday, no habit known: the grade's interval (7)
        (3, 40, 12, 0.25),  # the later of visit and order counts: 3 / 12
        (20, 2, 10, 0.2),  # ordered two days ago
        (30, 30, 10, 1.0),  # capped
        (None, None, None, 1.0),  # never met, never ordered
    ],
)
def test_order_reasons_fade_right_after_contact(
    since_visit: int | None, since_order: int | None, usual: int | None, readiness: float
) -> None:
    c = replace(
        BASE,
        days_since_visit=since_visit,
        days_since_last_order=since_order,
        usual_order_interval_days=usual,
        expected_order_value=Decimal(1000),
        rep_remaining_gap=Decimal(10000),
    )
    assert reasons_of(c)["plan_gap"].weight == round(3.0 * readiness, 2)
    assert reasons_of(c)["plan_gap"].params["readiness"] == round(readiness, 2)
    late = replace(c, days_since_visit=since_visit, days_since_last_order=100, usual_order_interval_days=10)
    if since_visit is not None:
        assert reasons_of(late)["churn_risk"].weight == round(2.0 * min(1.0, since_visit / 10), 2)


@pytest.mark.parametrize(
    ("grade", "interval", "since", "lead", "fires", "weight"),
    [
        ("A", 7, 5, 1, False, None),  # Thursday at day 6 would still do
        ("A", 7, 6, 1, False, None),  # Friday at day 7 still keeps the week
        ("A", 7, 7, 1, True, 6.0),  # the last day
        ("A", 7, 4, 3, False, None),  # Friday: Monday would be day 7
        ("A", 7, 5, 3, True, 6.0),  # Friday: Monday would be day 8
        ("A", 7, 12, 1, True, 6.0),  # already overdue
        ("B", 14, 14, 1, True, 4.5),
        ("C", 30, 28, 3, True, 3.0),
        ("D", 60, None, 1, True, 1.5),  # never visited
    ],
)
def test_due_on_the_last_working_day_that_keeps_the_interval(
    grade: str, interval: int, since: int | None, lead: int, fires: bool, weight: float | None
) -> None:
    c = replace(
        BASE, grade=grade, interval_days=interval, days_since_visit=since, days_to_next_working_day=lead
    )  # type: ignore[arg-type]
    reason = reasons_of(c).get("due")
    assert (reason is not None) is fires
    if reason:
        assert (reason.text, reason.weight) == ("Due before your next working day", weight)
        assert reason.params == {"grade": grade, "interval": interval}


@pytest.mark.parametrize(
    ("since", "usual", "status", "fires"),
    [
        (45, 30, "active", True),  # 1.5x the usual interval
        (90, 30, "active", True),
        (44, 30, "active", False),
        (45, None, "active", False),  # no order rhythm known
        (None, 30, "active", False),
        (45, 30, "prospect", False),
    ],
)
def test_churn_risk_reason(since: int | None, usual: int | None, status: str, fires: bool) -> None:
    c = replace(BASE, days_since_visit=60, days_since_last_order=since, usual_order_interval_days=usual)
    c = replace(c, status=status)  # type: ignore[arg-type]
    reason = reasons_of(c).get("churn_risk")
    assert (reason is not None) is fires
    if reason:
        assert reason.text == f"Ordering later than usual ({since} d vs {usual} d)"
        assert reason.weight == 2.0


@pytest.mark.parametrize(
    ("changes", "code", "text", "weight"),
    [
        ({"promise_due": True, "promise_text": "send quote"}, "promise_due", "Promise due: send quote", 5.0),
        ({"promise_due": True}, "promise_due", "Promise due", 5.0),
        ({"carried_over_from": date(2026, 11, 20)}, "carry_over", "Carried over from 2026-11-20", 2.0),
        ({"manager_pinned": True}, "manager_pin", "Pinned by your manager", 6.0),
        ({"status": "prospect", "grade": "D"}, "prospecting", "Prospect: new business", 1.5),
    ],
)  # fmt: skip
def test_flat_reasons(changes: dict[str, object], code: str, text: str, weight: float) -> None:
    reason = reasons_of(replace(BASE, **changes))[code]  # type: ignore[arg-type]
    assert (reason.text, reason.weight) == (text, weight)


def test_score_is_the_sum_of_reasons_strongest_first() -> None:
    c = replace(
        BASE,
        days_since_visit=14,
        promise_due=True,
        promise_text="deliver samples",
        manager_pinned=True,
        expected_order_value=Decimal(500),
        rep_remaining_gap=Decimal(10000),
    )
    score, reasons = score_candidate(c)
    assert [r.code for r in reasons] == ["cadence", "manager_pin", "due", "promise_due", "plan_gap"]
    assert score == pytest.approx(8.0 + 6.0 + 6.0 + 5.0 + 1.5)
    assert score == pytest.approx(sum(r.weight for r in reasons))


def test_weights_come_from_scoring_weights() -> None:
    c = replace(BASE, manager_pinned=True, days_since_visit=7)
    assert score_candidate(c)[0] == pytest.approx(4.0 + 6.0 + 6.0)  # cadence, due, pin
    heavier = ScoringWeights(manager_pin=10.0, grade_a=1.0, due=2.0)
    assert score_candidate(c, heavier)[0] == pytest.approx(1.0 + 2.0 + 10.0)


def test_reason_json_shape() -> None:
    reason = reasons_of(replace(BASE, days_since_visit=12))["cadence"]
    assert reason.to_json() == {
        "code": "cadence",
        "text": "Grade A, 12 days since last visit (every 7 days)",
        "weight": 6.86,
        "params": {"grade": "A", "days": 12, "interval": 7},
    }


DUE = Reason("due", "Due before your next working day", 1.0)


def make(
    n: int, prefix: str, score_from: float, due: bool = True, **changes: object
) -> list[ScoredCandidate]:
    """n candidates with descending scores; ids sort in score order; due ones carry a due reason."""
    return [
        ScoredCandidate(
            replace(BASE, customer_id=f"{prefix}{i:02d}", **changes),  # type: ignore[arg-type]
            score_from - i * 0.01,
            (DUE,) if due else (),
        )
        for i in range(n)
    ]


def buckets(selected: list[ScoredCandidate]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in selected:
        counts[s.candidate.bucket] = counts.get(s.candidate.bucket, 0) + 1
    return counts


@pytest.mark.parametrize(
    ("capacity", "expected"),
    [
        (10, {"A": 4, "B": 3, "C": 2, "D": 0, "prospect": 1}),
        (8, {"A": 3, "B": 2, "C": 2, "D": 0, "prospect": 1}),  # largest remainders
        (5, {"A": 2, "B": 2, "C": 1, "D": 0, "prospect": 0}),  # tie -> bucket order
        (0, {"A": 0, "B": 0, "C": 0, "D": 0, "prospect": 0}),
    ],
)
def test_quota_slots(capacity: int, expected: dict[str, int]) -> None:
    assert quota_slots(capacity, {"A": 0.4, "B": 0.3, "C": 0.2, "prospect": 0.1}) == expected


@pytest.mark.parametrize("quotas", [{"A": 0.7, "B": 0.5}, {"A": -0.1}, {"A": 1.5}, {"vip": 0.1}])
def test_quota_slots_rejects(quotas: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="quota"):
        quota_slots(8, quotas)  # type: ignore[arg-type]


POOL = (
    make(10, "a", 10.0, grade="A")
    + make(10, "b", 5.0, grade="B")
    + make(10, "c", 3.0, grade="C")
    + make(10, "p", 1.0, grade="D", status="prospect")
)


def test_quotas_mix_grades_even_when_a_outscores_everything() -> None:
    selected = select_with_quotas(POOL, 10, must_visit=())
    assert buckets(selected) == {"A": 4, "B": 3, "C": 2, "prospect": 1}
    assert [s.candidate.customer_id for s in selected[:4]] == ["a00", "a01", "a02", "a03"]


def test_quotas_are_soft_unused_slots_go_by_score() -> None:
    pool = make(20, "a", 10.0, grade="A") + make(2, "b", 1.0, grade="B")
    selected = select_with_quotas(pool, 10, must_visit=())
    assert buckets(selected) == {"A": 8, "B": 2}


def test_quota_slots_are_kept_for_due_customers_only() -> None:
    # Ten due A's and C's seen a few days ago: the C quota does not push out due A's.
    pool = make(10, "a", 10.0, grade="A") + make(5, "c", 1.0, due=False, grade="C")
    assert buckets(select_with_quotas(pool, 8, must_visit=())) == {"A": 8}
    # A due C still gets its share when A's outscore it.
    pool += make(1, "cd", 4.0, grade="C")
    assert buckets(select_with_quotas(pool, 8, must_visit=())) == {"A": 7, "C": 1}


def test_due_a_customers_are_planned_like_promises() -> None:
    # By default a due A is never left for tomorrow: before the quotas of other grades ...
    pool = (
        make(6, "a", 10.0, grade="A")
        + make(4, "b", 12.0, grade="B")
        + make(2, "p", 9.0, grade="D", status="prospect")
    )
    selected = select_with_quotas(pool, 8)
    assert buckets(selected) == {"A": 6, "B": 2}
    # ... but after promises, pins and carry-overs; an A that is not due has no such priority.
    promised = make(3, "m", 0.1, grade="C", promise_due=True)
    selected = select_with_quotas(promised + pool, 8)
    assert [s.candidate.customer_id for s in selected[:8]][:3] == ["m00", "m01", "m02"]
    assert buckets(selected) == {"C": 3, "A": 5}
    early = make(6, "a", 10.0, due=False, grade="A") + make(4, "b", 12.0, grade="B")
    assert buckets(select_with_quotas(early, 4)) == {"B": 4}


def test_grade_d_customers_fill_leftover_slots() -> None:
    pool = make(2, "a", 10.0, grade="A") + make(5, "d", 2.0, grade="D")
    assert buckets(select_with_quotas(pool, 5)) == {"A": 2, "D": 3}


def test_mandatory_items_come_first_even_with_low_scores() -> None:
    pinned = make(5, "m", 0.5, grade="C", manager_pinned=True)
    selected = select_with_quotas(POOL + pinned, 3)
    assert [s.candidate.customer_id for s in selected] == ["m00", "m01", "m02"]


@pytest.mark.parametrize(
    "flag",
    [
        {"manager_pinned": True},
        {"promise_due": True},
        {"carried_over_from": date(2026, 11, 20)},
    ],
)
def test_mandatory_kinds_count_against_their_bucket(flag: dict[str, object]) -> None:
    mandatory = make(4, "m", 0.1, grade="A", **flag)
    selected = select_with_quotas(POOL + mandatory, 10, must_visit=())
    ids = [s.candidate.customer_id for s in selected]
    assert ids[:4] == ["m00", "m01", "m02", "m03"]
    assert buckets(selected) == {"A": 4, "B": 3, "C": 2, "prospect": 1}


def test_selection_is_deterministic_on_ties() -> None:
    tied = [ScoredCandidate(replace(BASE, customer_id=cid), 5.0, ()) for cid in ["z", "m", "a", "q"]]
    first = select_with_quotas(tied, 2)
    again = select_with_quotas(list(reversed(tied)), 2)
    assert [s.candidate.customer_id for s in first] == ["a", "m"]
    assert first == again


def test_capacity_edges() -> None:
    assert select_with_quotas(POOL, 0) == []
    assert len(select_with_quotas(POOL, 100)) == len(POOL)
    with pytest.raises(ValueError, match="capacity"):
        select_with_quotas(POOL, -1)


def test_score_candidates_ranks_best_first() -> None:
    low = replace(BASE, customer_id="low", days_since_visit=1)
    high = replace(BASE, customer_id="high", days_since_visit=20)
    ranked = score_candidates([low, high])
    assert [s.candidate.customer_id for s in ranked] == ["high", "low"]
    assert ranked[0].reasons[0].code == "cadence"
