"""Working days and how much of a period's weight has elapsed.

A day's weight is 1 on a working day (Mon-Fri, not a holiday) and 0 otherwise. With seasonal
month weights, a working day in month m weighs `month_weights[m] / working days in all of m`, so
a month's weight is spread evenly over its working days and any sub-period (a week straddling two
months, a quarter) gets exactly its share of each month.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

NO_HOLIDAYS: frozenset[date] = frozenset()
_SATURDAY = 5


def local_date(instant: datetime, timezone: str | None) -> date:
    """The date an instant falls on in a time zone (UTC when none or unknown)."""
    try:
        return instant.astimezone(ZoneInfo(timezone or "UTC")).date()
    except (ZoneInfoNotFoundError, ValueError):
        return instant.astimezone(ZoneInfo("UTC")).date()


def is_working_day(d: date, holidays: frozenset[date] = NO_HOLIDAYS) -> bool:
    """True for Monday-Friday unless the date is a holiday."""
    return d.weekday() < _SATURDAY and d not in holidays


def days_to_next_working_day(d: date, holidays: frozenset[date] = NO_HOLIDAYS) -> int:
    """Days from `d` to the next working day after it (1 Monday-Thursday, 3 on a Friday)."""
    days = 1
    while not is_working_day(d + timedelta(days=days), holidays) and days < 366:
        days += 1
    return days


@lru_cache(maxsize=65536)
def working_days(start: date, end_inclusive: date, holidays: frozenset[date] = NO_HOLIDAYS) -> int:
    """Number of working days in [start, end_inclusive]; 0 when the range is empty.

    Cached: progress for 1,000 reps asks the same few (period, holidays) questions thousands
    of times, and the inputs are immutable.
    """
    count = 0
    day = start
    while day <= end_inclusive:
        if is_working_day(day, holidays):
            count += 1
        day += timedelta(days=1)
    return count


def month_start(d: date) -> date:
    """First day of d's month."""
    return d.replace(day=1)


def month_end(d: date) -> date:
    """Last day of d's month."""
    first_of_next = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_of_next - timedelta(days=1)


def month_chunks(start: date, end_inclusive: date) -> Iterator[tuple[date, date]]:
    """Split [start, end_inclusive] at month boundaries into (chunk_start, chunk_end) pairs."""
    chunk_start = start
    while chunk_start <= end_inclusive:
        chunk_end = min(month_end(chunk_start), end_inclusive)
        yield chunk_start, chunk_end
        chunk_start = chunk_end + timedelta(days=1)


def period_weight(
    start: date,
    end_inclusive: date,
    holidays: frozenset[date] = NO_HOLIDAYS,
    month_weights: Mapping[int, Decimal] | None = None,
) -> Decimal:
    """Total day weight of [start, end_inclusive] (working days, or seasonal share of months).

    Months missing from `month_weights` weigh 0.
    """
    total = Decimal(0)
    for chunk_start, chunk_end in month_chunks(start, end_inclusive):
        days = working_days(chunk_start, chunk_end, holidays)
        if month_weights is None:
            total += days
            continue
        weight = Decimal(month_weights.get(chunk_start.month, 0))
        if weight < 0:
            raise ValueError(f"month {chunk_start.month} weight is negative")
        days_in_month = working_days(month_start(chunk_start), month_end(chunk_start), holidays)
        if days and days_in_month:
            # Multiply before dividing so a whole month yields its weight exactly.
            total += weight * days / days_in_month
    return total


def weighted_elapsed_fraction(
    start: date,
    end: date,
    as_of: date,
    holidays: frozenset[date] = NO_HOLIDAYS,
    month_weights: Mapping[int, Decimal] | None = None,
) -> Decimal:
    """Share of the period's weight elapsed by the end of `as_of`, in [0, 1].

    0 before the period starts, exactly 1 from its last day on. A period with no weight at all
    (e.g. only weekends or zero-weight months) falls back to calendar days so pace stays defined.
    """
    if start > end:
        raise ValueError(f"period start {start} is after its end {end}")
    if as_of < start:
        return Decimal(0)
    if as_of >= end:
        return Decimal(1)
    total = period_weight(start, end, holidays, month_weights)
    if total == 0:
        return Decimal((as_of - start).days + 1) / Decimal((end - start).days + 1)
    return period_weight(start, as_of, holidays, month_weights) / total
