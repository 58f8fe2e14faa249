from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from server.domain.calendar import (
    days_to_next_working_day,
    is_working_day,
    month_end,
    period_weight,
    weighted_elapsed_fraction,
    working_days,
)

NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)  # Sunday .. Monday; 21 working days
ARMISTICE = frozenset({date(2026, 11, 11)})  # a Wednesday
JAN_FEB = {1: Decimal(10), 2: Decimal(30)}  # Jan 2026: 22 working days, Feb 2026: 20


def close_to(value: Decimal, expected: Fraction) -> bool:
    return abs(Fraction(value) - expected) < Fraction(1, 10**20)


@pytest.mark.parametrize(
    ("day", "holidays", "expected"),
    [
        (date(2026, 11, 23), frozenset(), True),  # Monday
        (date(2026, 11, 27), frozenset(), True),  # Friday
        (date(2026, 11, 28), frozenset(), False),  # Saturday
        (date(2026, 11, 29), frozenset(), False),  # Sunday
        (date(2026, 11, 11), ARMISTICE, False),  # weekday holiday
        (date(2026, 11, 12), ARMISTICE, True),
    ],
)
def test_is_working_day(day: date, holidays: frozenset[date], expected: bool) -> None:
    assert is_working_day(day, holidays) is expected


@pytest.mark.parametrize(
    ("start", "end", "holidays", "expected"),
    [
        (NOV_1, NOV_30, frozenset(), 21),
        (NOV_1, NOV_30, ARMISTICE, 20),
        (date(2026, 11, 28), date(2026, 11, 29), frozenset(), 0),  # a weekend
        (date(2026, 11, 30), date(2026, 11, 30), frozenset(), 1),  # one Monday
        (NOV_30, NOV_1, frozenset(), 0),  # empty range
        (date(2026, 1, 1), date(2026, 12, 31), frozenset(), 261),
    ],
)
def test_working_days(start: date, end: date, holidays: frozenset[date], expected: int) -> None:
    assert working_days(start, end, holidays) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 2, 10), date(2024, 2, 29)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 12, 15), date(2026, 12, 31)),
        (date(2026, 1, 31), date(2026, 1, 31)),
    ],
)
def test_month_end(day: date, expected: date) -> None:
    assert month_end(day) == expected


@pytest.mark.parametrize(
    ("as_of", "holidays", "expected"),
    [
        (date(2026, 10, 31), frozenset(), Fraction(0)),  # before the period
        (NOV_1, frozenset(), Fraction(0)),  # a Sunday: nothing elapsed yet
        (date(2026, 11, 2), frozenset(), Fraction(1, 21)),
        (date(2026, 11, 6), frozenset(), Fraction(5, 21)),
        (date(2026, 11, 8), frozenset(), Fraction(5, 21)),  # weekend adds nothing
        (date(2026, 11, 13), ARMISTICE, Fraction(9, 20)),
        (date(2026, 11, 27), frozenset(), Fraction(20, 21)),
        (NOV_30, frozenset(), Fraction(1)),
        (date(2026, 12, 5), frozenset(), Fraction(1)),  # after the period
    ],
)
def test_elapsed_fraction_by_working_days(as_of: date, holidays: frozenset[date], expected: Fraction) -> None:
    assert close_to(weighted_elapsed_fraction(NOV_1, NOV_30, as_of, holidays), expected)


@pytest.mark.parametrize(
    ("start", "end", "as_of", "expected"),
    [
        # Month weights 10 / 30: January is a quarter of the two-month period.
        (date(2026, 1, 1), date(2026, 2, 28), date(2026, 1, 31), Fraction(1, 4)),
        (date(2026, 1, 1), date(2026, 2, 28), date(2026, 1, 9), Fraction(7, 22) * 10 / 40),
        # All of January (10) + 5 of February's 20 working days (30 x 5/20) = 17.5 of 40.
        (date(2026, 1, 1), date(2026, 2, 28), date(2026, 2, 6), Fraction(7, 16)),
        # A week straddling months: each day carries its own month's daily weight
        # (Jan 10/22 per day, Feb 30/20 per day), not the month's whole weight.
        (date(2026, 1, 29), date(2026, 2, 4), date(2026, 1, 30), Fraction(20, 119)),
    ],
)
def test_elapsed_fraction_with_month_weights(start: date, end: date, as_of: date, expected: Fraction) -> None:
    assert close_to(weighted_elapsed_fraction(start, end, as_of, frozenset(), JAN_FEB), expected)


@pytest.mark.parametrize(
    ("start", "end", "as_of", "weights", "expected"),
    [
        # A weekend-only period has no working days: fall back to calendar days.
        (date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 28), None, Fraction(1, 2)),
        # Months with zero seasonal weight: fall back to calendar days (31 of 59).
        (
            date(2026, 1, 1),
            date(2026, 2, 28),
            date(2026, 1, 31),
            {6: Decimal(100)},
            Fraction(31, 59),
        ),
    ],
)
def test_elapsed_fraction_without_any_weight_uses_calendar_days(
    start: date,
    end: date,
    as_of: date,
    weights: dict[int, Decimal] | None,
    expected: Fraction,
) -> None:
    assert close_to(weighted_elapsed_fraction(start, end, as_of, frozenset(), weights), expected)


def test_whole_month_weighs_exactly_its_seasonal_weight() -> None:
    weights = {m: Decimal("8.33") for m in range(1, 13)}
    assert period_weight(date(2026, 1, 1), date(2026, 1, 31), frozenset(), weights) == Decimal("8.33")


def test_negative_month_weight_is_rejected() -> None:
    with pytest.raises(ValueError, match="month 1 weight is negative"):
        period_weight(date(2026, 1, 1), date(2026, 1, 31), frozenset(), {1: Decimal(-1)})


def test_period_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="after its end"):
        weighted_elapsed_fraction(NOV_30, NOV_1, NOV_30)


@pytest.mark.parametrize(
    ("day", "holidays", "expected"),
    [
        (date(2026, 11, 16), frozenset(), 1),  # Monday
        (date(2026, 11, 20), frozenset(), 3),  # Friday -> Monday
        (date(2026, 11, 21), frozenset(), 2),  # Saturday -> Monday
        (date(2026, 11, 22), frozenset(), 1),  # Sunday -> Monday
        (date(2026, 11, 20), frozenset({date(2026, 11, 23)}), 4),  # Friday before a holiday Monday
    ],
)
def test_days_to_next_working_day(day: date, holidays: frozenset[date], expected: int) -> None:
    assert days_to_next_working_day(day, holidays) == expected
