from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from server.domain.amounts import correction_problem, needs_confirmation


@pytest.mark.parametrize(
    ("amount", "largest", "ceiling", "expected"),
    [
        (D("7777.00"), D("700"), D("5000"), True),  # > 10x and above the ceiling
        (D("7000.00"), D("700"), D("5000"), False),  # exactly 10x: not "more than"
        (D("7000.01"), D("700"), D("5000"), True),
        (D("4999.99"), D("100"), D("5000"), False),  # 50x, but below the ceiling
        (D("5000"), None, D("5000"), True),  # no history: only the ceiling decides
        (D("4999"), None, D("5000"), False),
        (D("60000"), D("9000"), D("5000"), False),  # a big customer's usual size
    ],
)
def test_needs_confirmation(amount: D, largest: D | None, ceiling: D, expected: bool) -> None:
    assert needs_confirmation(amount, largest, ceiling) is expected


NOW = datetime(2026, 11, 18, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("taker", "manager", "age_h", "so_far", "delta", "expected"),
    [
        (True, False, 23.9, D(0), D("-100"), None),
        (True, False, 24.1, D(0), D("-100"), "order_id"),  # the rep's window is over
        (False, True, 24 * 90, D(0), D("-100"), None),  # the manager: any time
        (False, False, 1, D(0), D("-100"), "order_id"),  # another rep
        (True, False, 1, D(0), D(0), "amount"),
        (True, False, 1, D("-900"), D("-101"), "amount"),  # below zero overall
        (True, False, 1, D("-900"), D("-100"), None),  # exactly zero: a full credit note
        (True, False, 1, D(0), D("250"), None),  # a correction up
    ],
)
def test_correction_problem(
    taker: bool, manager: bool, age_h: float, so_far: D, delta: D, expected: str | None
) -> None:
    problem = correction_problem(
        original=D("1000"), corrected_so_far=so_far, delta=delta, by_taker=taker, by_manager=manager,
        created_at=NOW - timedelta(hours=age_h), now=NOW,
    )  # fmt: skip
    assert (problem[0] if problem else None) == expected
