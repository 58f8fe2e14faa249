"""Pacing many targets: the calendar part shared per key gives the figures of one-by-one."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from server.domain.pace import PeriodCalendars, compute_progress, period_days, progress_on
from server.domain.plans import GRANULARITIES, natural_end
from server.services.plans.progress import stored_month_weights
from server.services.plans.progress_targets import LONGEST_PERIOD_DAYS

NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)
AS_OF = date(2026, 11, 18)  # 13 of 21 working days
ARMISTICE = frozenset({date(2026, 11, 11)})
# November weighs nothing: its targets fall back to calendar days (18 of 30 days by the 18th).
NO_NOVEMBER = tuple((month, Decimal({11: 0, 12: 20}.get(month, 8))) for month in range(1, 13))


def test_targets_sharing_a_key_get_the_figures_computed_separately() -> None:
    calendars = PeriodCalendars(AS_OF)
    first = calendars.days(NOV_1, NOV_30, ARMISTICE, None)
    # Equal but distinct holiday sets (two units' unions) share one computation.
    second = calendars.days(NOV_1, NOV_30, frozenset(set(ARMISTICE)), None)
    assert second is first and len(calendars) == 1
    for amount, actual in (("21000", "9000"), ("5000", "4100")):
        shared = progress_on(Decimal(amount), Decimal(actual), first)
        alone = compute_progress(Decimal(amount), Decimal(actual), NOV_1, NOV_30, AS_OF, ARMISTICE)
        assert shared == alone


@pytest.mark.parametrize(
    ("start", "end", "holidays", "weights", "elapsed", "total", "fraction"),
    [
        (NOV_1, NOV_30, frozenset(), None, 13, 21, Decimal(13) / 21),
        (NOV_1, NOV_30, ARMISTICE, None, 12, 20, Decimal(12) / 20),
        (NOV_1, NOV_30, frozenset(), NO_NOVEMBER, 13, 21, Decimal(18) / 30),
        (date(2026, 11, 16), date(2026, 11, 22), frozenset(), None, 3, 5, Decimal(3) / 5),
    ],
)
def test_each_distinct_key_gets_its_own_calendar(
    start: date,
    end: date,
    holidays: frozenset[date],
    weights: tuple[tuple[int, Decimal], ...] | None,
    elapsed: int,
    total: int,
    fraction: Decimal,
) -> None:
    calendars = PeriodCalendars(AS_OF)
    plain = calendars.days(NOV_1, NOV_30, frozenset(), None)
    days = calendars.days(start, end, holidays, weights)
    assert (days.elapsed, days.total, days.fraction) == (elapsed, total, fraction)
    assert days == period_days(start, end, AS_OF, holidays, dict(weights) if weights else None)
    different = (start, end, holidays, weights) != (NOV_1, NOV_30, frozenset(), None)
    assert len(calendars) == (2 if different else 1)
    assert (days != plain) is different


def test_stored_weights_decode_to_one_hashable_key() -> None:
    # The same weights stored in another key order or as numbers share one calendar key.
    as_strings = json.dumps({str(month): str(weight) for month, weight in reversed(NO_NOVEMBER)})
    as_numbers = json.dumps({str(month): float(weight) for month, weight in NO_NOVEMBER})
    assert stored_month_weights(as_strings) == stored_month_weights(as_numbers) == NO_NOVEMBER
    for nothing in (None, "null", "{}"):
        assert stored_month_weights(nothing) is None
    with pytest.raises(ValueError, match="month"):
        stored_month_weights('{"13": "100"}')


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_longest_period_bounds_every_period_a_target_may_have(granularity: str) -> None:
    # The targets lookup skips periods starting LONGEST_PERIOD_DAYS or more before as_of.
    starts = [date(2024, 1, 1) + timedelta(days=n) for n in range(4 * 366)]
    longest = max((natural_end(granularity, start) - start).days + 1 for start in starts)
    assert longest == LONGEST_PERIOD_DAYS[granularity]
