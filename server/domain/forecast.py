"""Forecast rules that need no model library: accuracy measures, rolling-origin splits, the
in-period composition, interval combination and OLS reconciliation along the org tree.

Accuracy (Hyndman & Athanasopoulos, FPP3 §5.8):
- WAPE = sum |actual - forecast| / sum |actual|   (0.08 = within 8% on average, volume-weighted)
- bias = sum (forecast - actual) / sum |actual|    (> 0: the forecast runs high)
- MASE = mean |actual - forecast| / mean |y_t - y_{t-m}| over the training series (the in-sample
  seasonal naive error; m falls back to 1 when the history is shorter than two seasons).
  MASE < 1 means better than "same as last season".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from math import sqrt

CENT = Decimal("0.01")


def wape(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    """Weighted absolute percentage error; None when the actuals are all zero."""
    _same_length(actual, forecast)
    scale = sum(abs(a) for a in actual)
    if scale == 0:
        return None
    return sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / scale


def bias(actual: Sequence[float], forecast: Sequence[float]) -> float | None:
    """Signed error relative to volume; positive when the forecast is too high."""
    _same_length(actual, forecast)
    scale = sum(abs(a) for a in actual)
    if scale == 0:
        return None
    return sum(f - a for a, f in zip(actual, forecast, strict=True)) / scale


def naive_scale(history: Sequence[float], season: int) -> float | None:
    """Mean absolute in-sample error of the seasonal naive (lag `season`, or 1 if too short)."""
    lag = season if len(history) > season else 1
    diffs = [abs(history[i] - history[i - lag]) for i in range(lag, len(history))]
    if not diffs:
        return None
    scale = sum(diffs) / len(diffs)
    return scale if scale > 0 else None


def mase(
    actual: Sequence[float], forecast: Sequence[float], history: Sequence[float], season: int
) -> float | None:
    """Mean absolute scaled error against the in-sample seasonal naive; None if unscalable."""
    _same_length(actual, forecast)
    scale = naive_scale(history, season)
    if scale is None or not actual:
        return None
    mae = sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / len(actual)
    return mae / scale


def _same_length(actual: Sequence[float], forecast: Sequence[float]) -> None:
    if len(actual) != len(forecast):
        raise ValueError(f"{len(actual)} actuals but {len(forecast)} forecasts")


def rolling_origins(n: int, horizon: int, windows: int, min_train: int) -> list[int]:
    """Training lengths for a rolling-origin backtest: each origin leaves `horizon` points to
    score, the last origin ends exactly at the series end, at most `windows` origins, and each
    training part keeps at least `min_train` points. Oldest first; empty if the series is short."""
    if horizon < 1 or windows < 1 or min_train < 1:
        raise ValueError("horizon, windows and min_train must be at least 1")
    last = n - horizon
    first = max(min_train, last - windows + 1)
    return list(range(first, last + 1)) if last >= min_train else []


@dataclass(frozen=True)
class Band:
    point: float
    low: float
    high: float


def compose_in_period(
    actual_to_date: Decimal,
    period_band: Band,
    working_days_total: int,
    working_days_left: int,
    extra: Decimal = Decimal(0),
) -> tuple[Decimal, Decimal, Decimal]:
    """A period under way: actual to date + the model's whole-period forecast scaled by the share
    of working days left (+ `extra` expected amounts already known to land in the period).
    The rest's interval narrows as the period runs (`rest_band`); nothing left -> no uncertainty
    left. The low end never goes below what is already booked."""
    if working_days_total < 0 or not 0 <= working_days_left <= max(working_days_total, 0):
        raise ValueError("working days left must be between 0 and the period's working days")
    share = working_days_left / working_days_total if working_days_total else 0.0
    rest = rest_band(period_band, share)
    point = actual_to_date + Decimal(repr(rest.point)) + extra
    return (
        _cents(point),
        _cents(min(actual_to_date + Decimal(repr(rest.low)) + extra, point)),
        _cents(max(actual_to_date + Decimal(repr(rest.high)) + extra, point)),
    )


def rest_band(period_band: Band, share: float) -> Band:
    """The part of a period's band still to come when `share` (0..1) of its working days is left.

    The point scales with the share; the half-widths with its square root, as the spread of a sum
    of independent days does (scaling them linearly made the 80% band of the rest far too narrow
    late in the month: on the simulated world's 20th working day 27% coverage, 58% this way, and
    71-75% from the 3rd to the middle; docs/forecasting.md). Negative model values count as zero: a rest never takes booked sales back.
    """
    point = max(period_band.point, 0.0)
    low, high = min(max(period_band.low, 0.0), point), max(period_band.high, point)
    spread = sqrt(share)
    rest_point = point * share
    return Band(
        rest_point, max(rest_point - (point - low) * spread, 0.0), rest_point + (high - point) * spread
    )


def with_pipeline(rest: Band, weighted: float) -> Band:
    """The expected rest of a period with the open pipeline: the larger of the model's rest and
    the probability-weighted open deals expected to close in it (never their sum: the model's rest
    already expects what usually closes, deals included, so adding them would count them twice).

    When the pipeline is the larger, the point and the upper bound move up by the difference; the
    lower bound stays the model's, since any of the deals can still slip or be lost."""
    if weighted <= rest.point:
        return rest
    return Band(weighted, rest.low, rest.high + weighted - rest.point)


def lifted(band: Band, lift: float) -> Band:
    """A band raised by a known pipeline lift (a unit: the sum of its reps' lifts), as
    `with_pipeline` raises it: the point and the upper bound, not the lower bound."""
    return Band(band.point + lift, band.low, band.high + lift)


def combine_bands(bands: Sequence[Band]) -> Band:
    """Sum of periods (months -> quarter): points add; half-widths add in quadrature on each side
    (errors of different months treated as independent)."""
    point = sum(b.point for b in bands)
    down = sqrt(sum((b.point - b.low) ** 2 for b in bands))
    up = sqrt(sum((b.high - b.point) ** 2 for b in bands))
    return Band(point, point - down, point + up)


def reconcile_ols(
    leaves: Sequence[str], parents: Mapping[str, Sequence[str]], base: Mapping[str, float]
) -> dict[str, float]:
    """MinTrace with OLS weights (Wickramasuriya et al. 2019, W = I): the coherent forecasts
    closest to the base ones. `parents` maps every aggregate node to the leaves below it;
    the result has every leaf and every aggregate, and each aggregate equals its leaves' sum.
    Computed as y~ = S (S'S)^-1 S' y^, with S the summing matrix (nodes x leaves)."""
    import numpy as np

    index = {leaf: i for i, leaf in enumerate(leaves)}
    nodes = list(leaves) + [p for p in parents if p not in index]
    s = np.zeros((len(nodes), len(leaves)))
    for row, node in enumerate(nodes):
        if node in index:
            s[row, index[node]] = 1.0
        else:
            for leaf in parents[node]:
                s[row, index[leaf]] = 1.0
    y = np.array([base[node] for node in nodes], dtype=float)
    bottom = np.linalg.lstsq(s, y, rcond=None)[0]
    return {node: float(value) for node, value in zip(nodes, s @ bottom, strict=True)}


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def period_bounds(period: str) -> tuple[date, date, str]:
    """'2026-11' -> (Nov 1, Nov 30, 'month'); '2026-Q4' -> (Oct 1, Dec 31, 'quarter')."""
    try:
        year_text, rest = period.split("-", 1)
        if len(year_text) != 4:
            raise ValueError
        year = int(year_text)
        if rest.upper().startswith("Q"):
            quarter = int(rest[1:])
            if not 1 <= quarter <= 4 or len(rest) != 2:
                raise ValueError
            start = date(year, 3 * quarter - 2, 1)
            end_month, kind = 3 * quarter, "quarter"
        else:
            if len(rest) != 2:
                raise ValueError
            start = date(year, int(rest), 1)
            end_month, kind = int(rest), "month"
        end = date(year + end_month // 12, end_month % 12 + 1, 1).toordinal() - 1
    except ValueError:
        raise ValueError("must be YYYY-MM or YYYY-Qn") from None
    return start, date.fromordinal(end), kind


def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def add_months(key: str, months: int) -> str:
    year, month = int(key[:4]), int(key[5:7])
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def quarter_key(d: date) -> str:
    return f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}"


def within_band_share(errors: Sequence[float]) -> float | None:
    """The ±x% a track record line quotes: the 80th percentile of |relative error| (None if none)."""
    if not errors:
        return None
    ordered = sorted(abs(e) for e in errors)
    return ordered[min(len(ordered) - 1, round(0.8 * (len(ordered) - 1)))]
