from datetime import date

import pytest

from server.domain.policy import DEFAULT_VISIT_INTERVALS, next_due, overdue_ratio

TODAY = date(2026, 11, 23)


def test_default_intervals() -> None:
    assert dict(DEFAULT_VISIT_INTERVALS) == {"A": 7, "B": 14, "C": 30, "D": 60}


@pytest.mark.parametrize(
    ("days", "interval", "expected"),
    [
        (0, 7, 0.0),
        (7, 7, 1.0),  # due today
        (14, 7, 2.0),
        (45, 30, 1.5),
        (None, 7, 3.0),  # never visited: as urgent as the scoring cap
        (None, 60, 3.0),
        (-2, 7, 0.0),  # visit recorded "tomorrow" by a skewed device clock
    ],
)
def test_overdue_ratio(days: int | None, interval: int, expected: float) -> None:
    assert overdue_ratio(days, interval) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("last_visit", "interval", "expected"),
    [
        (None, 7, TODAY),  # never visited: due now
        (date(2026, 11, 20), 7, date(2026, 11, 27)),
        (date(2026, 10, 1), 14, date(2026, 10, 15)),  # overdue: the past due date is kept
    ],
)
def test_next_due(last_visit: date | None, interval: int, expected: date) -> None:
    assert next_due(last_visit, interval, TODAY) == expected


@pytest.mark.parametrize("interval", [0, -7])
def test_interval_must_be_positive(interval: int) -> None:
    with pytest.raises(ValueError, match="interval"):
        overdue_ratio(3, interval)
    with pytest.raises(ValueError, match="interval"):
        next_due(None, interval, TODAY)
