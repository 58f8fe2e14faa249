"""`fieldsales forecast backtest --csv FILE`: the forecaster's rolling-origin backtest on any
monthly series a company has (columns `period,amount`), so it can be checked before it is trusted."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from server.domain.forecast import add_months, period_bounds


class SeriesError(ValueError):
    """A CSV that is not a gap-free monthly series; the message names the line and column."""


def read_series(lines: Iterable[str]) -> tuple[list[str], list[float]]:
    reader = csv.DictReader(lines)
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "period" not in fields or "amount" not in fields:
        raise SeriesError("the header must have the columns period,amount")
    reader.fieldnames = fields
    periods: list[str] = []
    amounts: list[float] = []
    for line, row in enumerate(reader, start=2):
        period = (row.get("period") or "").strip()
        try:
            _, _, kind = period_bounds(period)
        except ValueError:
            raise SeriesError(f"line {line}: period {period!r} must be YYYY-MM") from None
        if kind != "month":
            raise SeriesError(f"line {line}: period {period!r} must be a month (YYYY-MM)")
        if periods and period != add_months(periods[-1], 1):
            raise SeriesError(
                f"line {line}: period {period} does not follow {periods[-1]} (one row per month, no gaps)"
            )
        try:
            amount = Decimal((row.get("amount") or "").strip())
        except InvalidOperation:
            raise SeriesError(f"line {line}: amount {row.get('amount')!r} is not a number") from None
        if not amount.is_finite():
            raise SeriesError(f"line {line}: amount {row.get('amount')!r} is not a number")
        periods.append(period)
        amounts.append(float(amount))
    if not periods:
        raise SeriesError("the file has no rows")
    return periods, amounts


def run_backtest(amounts: list[float], season: int, horizon: int, windows: int = 12) -> dict[str, Any]:
    from server.services.forecasts import engine

    result = engine.backtest({"series": amounts}, season=season, horizon=horizon, windows=windows)
    return {
        "months": len(amounts),
        "season": season,
        "horizon": horizon,
        "chosen": result.chosen,
        "methods": {
            method: [
                {
                    "horizon": s.horizon,
                    "wape": _r(s.wape),
                    "bias": _r(s.bias),
                    "mase": _r(s.mase),
                    "coverage_80": _r(s.coverage),
                    "n": s.n,
                }
                for s in scores
            ]
            for method, scores in result.scores.items()
        },
    }


def format_table(report: dict[str, Any]) -> str:
    if not report["methods"]:
        return (
            f"{report['months']} months: too short for a backtest at horizon {report['horizon']}; "
            f"the forecaster would use {report['chosen']}."
        )
    lines = [f"{'method':<18} {'h':>2} {'WAPE':>8} {'bias':>8} {'MASE':>6} {'cover80':>8} {'n':>4}"]
    for method, scores in report["methods"].items():
        for s in scores:
            lines.append(
                f"{method:<18} {s['horizon']:>2} {_pct(s['wape']):>8} {_pct(s['bias']):>8} "
                f"{_num(s['mase']):>6} {_pct(s['coverage_80']):>8} {s['n']:>4}"
            )
    lines.append(f"chosen: {report['chosen']} (lowest mean MASE over horizons 1..{report['horizon']})")
    return "\n".join(lines)


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
