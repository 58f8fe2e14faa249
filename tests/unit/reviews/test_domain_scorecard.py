from decimal import Decimal

import pytest

from server.domain.scorecard import reach_rate, verified_share, visit_compliance, weighted_score

D = Decimal


@pytest.mark.parametrize(
    ("result", "process", "team", "expected"),
    [
        ("1", "1", "1", "1.0000"),
        ("0", "0", "0", "0.0000"),
        ("0.8", "0.5", "1", "0.7500"),  # 0.4 + 0.15 + 0.2
        ("1.5", "0", "0", "0.5000"),  # over-achievement capped at 1
        ("-0.2", "1", "0", "0.3000"),  # below zero floored at 0
        ("0.3333", "0.3333", "0.3333", "0.3333"),
    ],
)
def test_weighted_score(result: str, process: str, team: str, expected: str) -> None:
    assert weighted_score(D(result), D(process), D(team)) == D(expected)


def test_weighted_score_custom_weights() -> None:
    assert weighted_score(D(1), D(0), D(0), (D("0.2"), D("0.4"), D("0.4"))) == D("0.2000")


@pytest.mark.parametrize("weights", [(D("0.5"), D("0.5"), D("0.5")), (D("1.2"), D("-0.1"), D("-0.1"))])
def test_weighted_score_rejects_bad_weights(weights: tuple[Decimal, Decimal, Decimal]) -> None:
    with pytest.raises(ValueError, match="weights"):
        weighted_score(D(1), D(1), D(1), weights)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["done", "done", "missed", "skipped"], "0.5000"),
        (["done", "snoozed", "snoozed", "missed"], "0.5000"),  # snoozed moved on purpose
        (["done", "planned", "planned"], "0.3333"),  # still planned at period end = not done
        (["done"], "1.0000"),
        (["snoozed"], None),
        ([], None),
    ],
)
def test_visit_compliance(statuses: list[str], expected: str | None) -> None:
    assert visit_compliance(statuses) == (D(expected) if expected else None)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["verified", "verified", "out_of_range", "no_fix"], "0.5000"),
        (["no_fix"], "0.0000"),
        ([], None),
    ],
)
def test_verified_share(statuses: list[str], expected: str | None) -> None:
    assert verified_share(statuses) == (D(expected) if expected else None)


@pytest.mark.parametrize(
    ("assigned", "visited", "expected"),
    [
        (["a", "b", "c", "d"], ["a", "a", "b"], "0.5000"),  # repeat visits count once
        (["a", "b"], ["x", "y"], "0.0000"),  # visits outside the assignment do not count
        (["a", "b", "c"], ["a", "b", "c", "z"], "1.0000"),
        ([], ["a"], None),
    ],
)
def test_reach_rate(assigned: list[str], visited: list[str], expected: str | None) -> None:
    assert reach_rate(assigned, visited) == (D(expected) if expected else None)
