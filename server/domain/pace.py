"""Progress against a target: expected to date, pace, lag, status, projection, run rate.

expected = amount x weighted elapsed fraction (see calendar.py); pace = actual / expected;
lag = max(0, 1 - pace). Status by lag: green < 10% <= yellow < 20% <= orange < 30% <= red.
Before `min_working_days` working days of the period have elapsed the status is NONE and
`warnable` is False: a slow first morning is noise, not a warning, and the UI shows "too early".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from server.domain.calendar import NO_HOLIDAYS, weighted_elapsed_fraction, working_days
from server.domain.numbers import MONEY, RATIO


class PaceStatus(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"
    NONE = "none"  # not yet warnable, or nothing expected yet


@dataclass(frozen=True)
class Thresholds:
    """Lag thresholds (fractions) and the grace period in working days."""

    yellow: Decimal = Decimal("0.10")
    orange: Decimal = Decimal("0.20")
    red: Decimal = Decimal("0.30")
    min_working_days: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.yellow <= self.orange <= self.red:
            raise ValueError("thresholds must satisfy 0 < yellow <= orange <= red")
        if self.min_working_days < 0:
            raise ValueError("min_working_days must be >= 0")


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(slots=True)
class Progress:
    """A target's progress as of one date. Money at 2 dp, ratios at 4 dp.

    Treated as immutable, but not frozen: a sweep builds one per target of every rep, and a
    frozen dataclass's __init__ (object.__setattr__ per field) costs nine times a plain one.
    """

    target: Decimal
    actual: Decimal
    expected_to_date: Decimal
    elapsed_fraction: Decimal
    pace: Decimal | None  # actual / expected; None while nothing is expected
    lag: Decimal | None
    status: PaceStatus
    warnable: bool
    attainment: Decimal | None  # actual / target; None for a zero target
    projection: Decimal | None  # actual / elapsed fraction; None before the period starts
    remaining_gap: Decimal
    working_days_elapsed: int
    working_days_total: int
    working_days_left: int
    required_daily_run_rate: Decimal | None  # None when no working day is left


def status_for_lag(lag: Decimal, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> PaceStatus:
    """Map a lag (0..1) to green/yellow/orange/red; each threshold is the start of its band."""
    if lag >= thresholds.red:
        return PaceStatus.RED
    if lag >= thresholds.orange:
        return PaceStatus.ORANGE
    if lag >= thresholds.yellow:
        return PaceStatus.YELLOW
    return PaceStatus.GREEN


@dataclass(frozen=True)
class PeriodDays:
    """The calendar side of progress: the same for every target sharing a period, as-of date,
    holiday set and seasonal weights, so a caller pacing many targets computes it once per key."""

    fraction: Decimal  # weighted share of the period elapsed by the end of as_of, unrounded
    elapsed: int  # working days
    total: int
    left: int
    shown_fraction: Decimal = field(init=False)  # the fraction at 4 dp, as Progress shows it

    def __post_init__(self) -> None:
        object.__setattr__(self, "shown_fraction", self.fraction.quantize(RATIO, ROUND_HALF_UP))


def period_days(
    start: date,
    end: date,
    as_of: date,
    holidays: frozenset[date] = NO_HOLIDAYS,
    month_weights: Mapping[int, Decimal] | None = None,
) -> PeriodDays:
    """Elapsed fraction and working days of [start, end] by the end of `as_of`."""
    return PeriodDays(
        fraction=weighted_elapsed_fraction(start, end, as_of, holidays, month_weights),
        elapsed=working_days(start, min(as_of, end), holidays) if as_of >= start else 0,
        total=working_days(start, end, holidays),
        left=working_days(max(start, as_of + timedelta(days=1)), end, holidays),
    )


MonthWeights = tuple[tuple[int, Decimal], ...]  # seasonal weights in a hashable form, sorted by month


class PeriodCalendars:
    """period_days for one as-of date, computed once per distinct (period, holidays, weights).

    Progress for every rep asks the same few calendar questions thousands of times (a plan's
    targets share a period, a unit's reps its holidays); only the arithmetic is per target.
    """

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self._known: dict[tuple[date, date, frozenset[date], MonthWeights | None], PeriodDays] = {}

    def __len__(self) -> int:
        return len(self._known)

    def days(
        self, start: date, end: date, holidays: frozenset[date], month_weights: MonthWeights | None
    ) -> PeriodDays:
        key = (start, end, holidays, month_weights)
        found = self._known.get(key)
        if found is None:
            weights = dict(month_weights) if month_weights is not None else None
            found = self._known[key] = period_days(start, end, self.as_of, holidays, weights)
        return found


_ZERO, _ONE = Decimal(0), Decimal(1)


def progress_on(
    amount: Decimal, actual: Decimal, days: PeriodDays, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> Progress:
    """Progress of `actual` against `amount` given the period's calendar (see compute_progress).

    Run once per target of a sweep (tens of thousands): the rounding is money() and ratio()
    written out, the shown fraction rounded once per calendar (PeriodDays) and the constants
    built once, so the figures are exactly theirs.
    """
    fraction = days.fraction
    expected = amount * fraction

    pace = (actual / expected).quantize(RATIO, ROUND_HALF_UP) if expected > 0 else None
    # Classify the rounded lag so the status always agrees with the figure shown next to it.
    lag = None if pace is None else _ONE - pace if pace < _ONE else _ZERO

    warnable = days.elapsed >= thresholds.min_working_days
    status = status_for_lag(lag, thresholds) if warnable and lag is not None else PaceStatus.NONE

    gap = amount - actual if amount > actual else _ZERO
    left = days.left
    return Progress(
        amount.quantize(MONEY, ROUND_HALF_UP),
        actual.quantize(MONEY, ROUND_HALF_UP),
        expected.quantize(MONEY, ROUND_HALF_UP),
        days.shown_fraction,
        pace,
        lag,
        status,
        warnable,
        (actual / amount).quantize(RATIO, ROUND_HALF_UP) if amount > 0 else None,
        (actual / fraction).quantize(MONEY, ROUND_HALF_UP) if fraction > 0 else None,
        gap.quantize(MONEY, ROUND_HALF_UP),
        days.elapsed,
        days.total,
        left,
        (gap / left).quantize(MONEY, ROUND_HALF_UP) if left else None,
    )


def compute_progress(
    amount: Decimal,
    actual: Decimal,
    start: date,
    end: date,
    as_of: date,
    holidays: frozenset[date] = NO_HOLIDAYS,
    month_weights: Mapping[int, Decimal] | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Progress:
    """Progress of `actual` against `amount` over [start, end] by the end of `as_of`.

    Defined for every stored target: nothing expected yet (a zero or negative target, or
    before the period) -> pace, lag and attainment None and status NONE; a period without a
    working day -> calendar days; no working day left -> no run-rate; counted metrics alike.
    """
    return progress_on(amount, actual, period_days(start, end, as_of, holidays, month_weights), thresholds)
