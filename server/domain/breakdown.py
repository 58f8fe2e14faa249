"""Splitting a target over children and over time so the parts always sum to the parent.

Parts are apportioned by largest remainder (domain.apportion): whole units (cents, or whole
visits), never negative, summing exactly; ties go to the smallest key, so the result never
depends on the order rows came back from the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

from server.domain.apportion import apportion, apportion_grid, from_units, to_units
from server.domain.calendar import NO_HOLIDAYS, month_chunks, period_weight

Granularity = Literal["quarter", "month", "week"]
AdjustmentKind = Literal["direct", "needs_approval"]

MONTHS = frozenset(range(1, 13))
ADJUSTMENT_LIMIT = Decimal("0.15")


class _Orderable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Orderable)
R = TypeVar("R")
C = TypeVar("C")


class SubPeriod(NamedTuple):
    start: date
    end: date  # inclusive
    amount: Decimal


def split_amount(total: Decimal, weights: Mapping[K, Decimal], places: int = 2) -> dict[K, Decimal]:
    """Split `total` (>= 0) proportionally to `weights` by largest remainder (domain.apportion):
    the parts sum exactly to `total`, none is negative, each is within one cent (one unit for
    counted metrics, places=0) of its exact share."""
    quantum = Decimal(1).scaleb(-places)
    if total != total.quantize(quantum):
        raise ValueError(f"total {total} has more than {places} decimal places")
    if total < 0:
        raise ValueError(f"total {total} is negative")
    if not weights:
        raise ValueError("nothing to split over: no children")
    for key, weight in weights.items():
        if weight < 0:
            raise ValueError(f"weight of {key} is negative ({weight})")
    if sum(weights.values(), Decimal(0)) == 0:
        raise ValueError("weights sum to zero: nothing to split by")
    return apportion(total, weights, places)


def shares_even(keys: Iterable[K]) -> dict[K, Decimal]:
    """Equal relative weights (1 each) for split_amount."""
    return {key: Decimal(1) for key in keys}


def percent_shares(amounts: Mapping[K, Decimal]) -> dict[K, Decimal]:
    """Percentages (summing to exactly 100) that give back these exact amounts when their sum is
    split by largest remainder: an edited set of amounts entered as an explicit org breakdown.
    Each share is rounded to 20 places and the largest absorbs the rest, so every quota is within
    1e-16 of a cent of its amount and the rounding lands on the amount itself."""
    total = sum(amounts.values(), Decimal(0))
    if total <= 0 or any(value < 0 for value in amounts.values()):
        raise ValueError("amounts must not be negative and must add up to more than zero")
    quantum = Decimal(1).scaleb(-20)
    shares = {key: (value * 100 / total).quantize(quantum) for key, value in amounts.items()}
    largest = max(shares, key=lambda key: shares[key])
    shares[largest] += Decimal(100) - sum(shares.values(), Decimal(0))
    return shares


def shares_from_actuals(actuals: Mapping[K, Decimal]) -> dict[K, Decimal]:
    """Relative weights from last period's actuals; even when nobody sold anything.

    Negative actuals (net returns) count as 0: a child cannot take a negative share of a plan.
    """
    weights = {key: max(Decimal(0), value) for key, value in actuals.items()}
    if not any(weights.values()):
        return shares_even(actuals)
    return weights


def validate_month_weights(weights: Mapping[int, Decimal]) -> None:
    """Raise ValueError unless weights has months 1..12, none negative, summing to exactly 100."""
    keys = set(weights)
    if keys != MONTHS:
        problems = []
        if missing := sorted(MONTHS - keys):
            problems.append("missing " + ", ".join(map(str, missing)))
        if unexpected := sorted(keys - MONTHS, key=str):
            problems.append("unexpected " + ", ".join(map(str, unexpected)))
        raise ValueError("month weights need months 1..12: " + "; ".join(problems))
    for month in sorted(weights):
        if weights[month] < 0:
            raise ValueError(f"month {month} weight is negative ({weights[month]})")
    total = sum(weights.values(), Decimal(0))
    if total != 100:
        raise ValueError(f"month weights sum to {total}, not 100")


def month_weights_from_json(raw: Mapping[str, Any]) -> dict[int, Decimal]:
    """Parse stored weights ({"1": 8.5, ...}) into validated {1: Decimal("8.5"), ...}."""
    parsed: dict[int, Decimal] = {}
    for key, value in raw.items():
        try:
            month = int(key)
            # str() first so a float like 8.1 becomes Decimal("8.1"), not its binary expansion.
            parsed[month] = Decimal(str(value))
        except (ValueError, InvalidOperation):
            raise ValueError(f"month weight {key!r}: {value!r} is not a month and a number") from None
    validate_month_weights(parsed)
    return parsed


def _quarter_chunks(start: date, end: date) -> Iterator[tuple[date, date]]:
    chunk_start = start
    while chunk_start <= end:
        first_month_next = (chunk_start.month - 1) // 3 * 3 + 4
        next_start = (
            date(chunk_start.year + 1, 1, 1)
            if first_month_next > 12
            else date(chunk_start.year, first_month_next, 1)
        )
        chunk_end = min(next_start - timedelta(days=1), end)
        yield chunk_start, chunk_end
        chunk_start = chunk_end + timedelta(days=1)


def _week_chunks(start: date, end: date) -> Iterator[tuple[date, date]]:
    chunk_start = start
    while chunk_start <= end:
        sunday = chunk_start + timedelta(days=6 - chunk_start.weekday())
        chunk_end = min(sunday, end)
        yield chunk_start, chunk_end
        chunk_start = chunk_end + timedelta(days=1)


_CHUNKERS = {"quarter": _quarter_chunks, "month": month_chunks, "week": _week_chunks}


def split_period(
    total: Decimal,
    start: date,
    end: date,
    granularity: Granularity,
    month_weights: Mapping[int, Decimal] | None = None,
    holidays: frozenset[date] = NO_HOLIDAYS,
) -> list[SubPeriod]:
    """Split [start, end] into calendar quarters, months or ISO weeks (clipped to the period).

    Each sub-period's amount follows its seasonal weight or working days; if the whole period
    has no weight (e.g. a holiday week) it is split by calendar days. Amounts sum to `total`.
    """
    if start > end:
        raise ValueError(f"period start {start} is after its end {end}")
    if granularity not in _CHUNKERS:
        raise ValueError(f"granularity must be quarter, month or week, not {granularity!r}")
    if month_weights is not None:
        validate_month_weights(month_weights)
    chunks = list(_CHUNKERS[granularity](start, end))
    weights = {
        index: period_weight(chunk_start, chunk_end, holidays, month_weights)
        for index, (chunk_start, chunk_end) in enumerate(chunks)
    }
    if not any(weights.values()):
        weights = {i: Decimal((e - s).days + 1) for i, (s, e) in enumerate(chunks)}
    amounts = split_amount(total, weights)
    return [SubPeriod(s, e, amounts[i]) for i, (s, e) in enumerate(chunks)]


def split_year_into_months(
    total: Decimal,
    year: int,
    weights_by_month: Mapping[int, Decimal] | None = None,
    holidays: frozenset[date] = NO_HOLIDAYS,
) -> dict[int, Decimal]:
    """Split a yearly amount into months by seasonal weights (summing to 100) or working days."""
    parts = split_period(total, date(year, 1, 1), date(year, 12, 31), "month", weights_by_month, holidays)
    return {part.start.month: part.amount for part in parts}


def adjustment_ratio(old: Decimal, new: Decimal) -> Decimal | None:
    """Relative change (new - old) / old; None when moving away from a zero target."""
    if old == 0:
        return Decimal(0) if new == 0 else None
    return (new - old) / old


def classify_adjustment(old: Decimal, new: Decimal, limit: Decimal = ADJUSTMENT_LIMIT) -> AdjustmentKind:
    """'direct' for a move within +-limit (inclusive), else 'needs_approval' by an executive.

    Compared on the exact ratio, so 15.01% is never rounded into "direct".
    """
    change = adjustment_ratio(old, new)
    if change is None or abs(change) > limit:
        return "needs_approval"
    return "direct"


def split_grid(
    rows: Mapping[R, Decimal],
    cols: Mapping[C, Decimal],
    places: int = 2,
    weights: Mapping[tuple[R, C], Decimal] | None = None,
) -> dict[R, dict[C, Decimal]]:
    """Children's periods under a parent's periods: each row (a rep's year) splits over the
    columns (the team's months) so that every row and every column sums exactly (rows and
    columns must have the same total). Without weights, in proportion to row x column."""
    row_units = {r: to_units(v, places) for r, v in rows.items()}
    col_units = {c: to_units(v, places) for c, v in cols.items()}
    shape = weights if weights is not None else {(r, c): rows[r] * cols[c] for r in rows for c in cols}
    grid = apportion_grid(row_units, col_units, shape)
    return {r: {c: from_units(grid[(r, c)], places) for c in cols} for r in rows}
