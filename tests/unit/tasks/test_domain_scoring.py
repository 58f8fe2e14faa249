from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from server.domain.scoring import (
    Candidate,
    DealSignal,
    Reason,
    ScoringWeights,
    score_candidate,
    score_candidates,
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


def test_score_candidates_ranks_best_first() -> None:
    low = replace(BASE, customer_id="low", days_since_visit=1)
    high = replace(BASE, customer_id="high", days_since_visit=20)
    ranked = score_candidates([low, high])
    assert [s.candidate.customer_id for s in ranked] == ["high", "low"]
    assert ranked[0].reasons[0].code == "cadence"


@pytest.mark.parametrize(
    ("rfm", "since", "weight"),
    [
        ((5, 5, 5), 30, 2.0),  # the best buyers earn the full push
        ((3, 3, 3), 30, 1.0),
        ((5, 4, 5), 30, 1.83),
        ((1, 1, 1), 30, None),  # no push for the weakest (or no orders)
        ((5, 5, 5), 3, 0.86),  # fades right after a visit like the other order reasons (3 / 7)
        (None, 30, None),  # not graded yet
    ],
)
def test_rfm_pushes_good_buyers_within_their_grade(
    rfm: tuple[int, int, int] | None, since: int, weight: float | None
) -> None:
    reason = reasons_of(replace(BASE, rfm=rfm, days_since_visit=since)).get("rfm")
    if weight is None:
        assert reason is None
        return
    assert reason is not None and reason.weight == weight
    assert reason.params == {"r": rfm[0], "f": rfm[1], "m": rfm[2]}  # type: ignore[index]
    assert reason.text.startswith(f"RFM {rfm[0]}-{rfm[1]}-{rfm[2]}")  # type: ignore[index]


def test_rfm_ranks_two_otherwise_equal_customers() -> None:
    strong = replace(BASE, customer_id="strong", days_since_visit=5, rfm=(5, 5, 4))
    weak = replace(BASE, customer_id="weak", days_since_visit=5, rfm=(2, 1, 2))
    assert [s.candidate.customer_id for s in score_candidates([weak, strong])] == ["strong", "weak"]


@pytest.mark.parametrize(
    ("stale", "close", "text"),
    [
        (12, 9, "Deal 'Spring order' at Proposal, 12 days without a step, closes in 9 days"),
        (None, 1, "Deal 'Spring order' at Proposal, closes in 1 day"),
        (30, None, "Deal 'Spring order' at Proposal, 30 days without a step"),
        (None, -2, "Deal 'Spring order' at Proposal, close date passed 2 days ago"),
    ],
)
def test_deal_reason(stale: int | None, close: int | None, text: str) -> None:
    deal = DealSignal("Spring order", "Proposal", stale, close)
    reason = reasons_of(replace(BASE, deal=deal))["opportunity"]
    assert (reason.text, reason.weight) == (text, 4.0)
    assert reason.params == {
        "title": "Spring order",
        "stage": "Proposal",
        "stale_days": stale,
        "close_days": close,
    }


def test_plan_gap_counts_weighted_pipeline() -> None:
    c = replace(
        BASE, days_since_visit=30, expected_order_value=Decimal(200), rep_remaining_gap=Decimal(10000)
    )
    assert reasons_of(c)["plan_gap"].weight == 0.6  # 2% of the gap
    with_deal = replace(c, weighted_pipeline=Decimal(600))  # e.g. 1,000 at 60%
    reason = reasons_of(with_deal)["plan_gap"]
    assert reason.weight == 2.4 and reason.params["pipeline"] == 600.0  # (200 + 600) / 10,000 = 8%
    only_pipeline = replace(c, expected_order_value=Decimal(0), weighted_pipeline=Decimal(1000))
    assert reasons_of(only_pipeline)["plan_gap"].text == "Could close 10% of your remaining gap"
