"""The rules of a rep's weekly plan: its steps, its week, targets and the achieved number."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from server.domain.rep_plans import achieved, attainment, editable, next_status, target_problem, week_of


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        ("submit", "draft", "submitted"),
        ("submit", "changes_requested", "submitted"),
        ("submit", "submitted", None),
        ("submit", "approved", None),
        ("approve", "submitted", "approved"),
        ("approve", "draft", None),
        ("approve", "approved", None),
        ("request_changes", "submitted", "changes_requested"),
        ("request_changes", "approved", None),
        ("request_changes", "changes_requested", None),
    ],
)
def test_steps(action: str, status: str, expected: str | None) -> None:
    assert next_status(action, status) == expected


@pytest.mark.parametrize(
    ("status", "can_edit"),
    [("draft", True), ("changes_requested", True), ("submitted", False), ("approved", False)],
)
def test_editable(status: str, can_edit: bool) -> None:
    assert editable(status) is can_edit


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (date(2026, 11, 16), date(2026, 11, 16)),
        (date(2026, 11, 22), date(2026, 11, 16)),
        (date(2027, 1, 1), date(2026, 12, 28)),  # ISO week 2026-W53 crosses the year
    ],
)
def test_week_of(day: date, monday: date) -> None:
    assert week_of(day) == monday


@pytest.mark.parametrize(
    ("metric", "target", "problem"),
    [
        ("revenue", Decimal("2500.50"), None),
        ("revenue", Decimal("-1"), "must not be negative"),
        ("visits", Decimal("3"), None),
        ("visits", Decimal("2.5"), "must be a whole number for this metric"),
        ("orders", Decimal("1.0"), None),
        ("new_customers", Decimal("0.5"), "must be a whole number for this metric"),
        ("custom", Decimal("0.5"), None),
        ("custom", None, None),
    ],
)
def test_target_problem(metric: str, target: Decimal | None, problem: str | None) -> None:
    assert target_problem(metric, target) == problem


@pytest.mark.parametrize(
    ("metric", "measured", "manual", "expected"),
    [
        ("revenue", Decimal("1200"), None, Decimal("1200")),
        ("orders", None, None, Decimal(0)),  # nothing measured yet is zero, not unknown
        ("visits", Decimal(2), Decimal(9), Decimal(2)),  # measured kinds ignore a hand-typed number
        ("custom", None, Decimal(2), Decimal(2)),
        ("custom", None, None, None),  # nothing entered yet
    ],
)
def test_achieved(
    metric: str, measured: Decimal | None, manual: Decimal | None, expected: Decimal | None
) -> None:
    assert achieved(metric, measured, manual) == expected


def test_attainment() -> None:
    assert attainment(Decimal(2), Decimal(3)) == Decimal("0.6667")
    assert attainment(Decimal(2), None) is None
    assert attainment(Decimal(2), Decimal(0)) is None
    assert attainment(None, Decimal(3)) is None
