"""The statistical engine: Nixtla statsforecast, imported only here and only when a job or the CLI
calls in (its import and numba compilation take seconds; the web app never pays for it).

Candidates: seasonal naive, AutoETS, AutoTheta and Croston (optimized; for intermittent series).
A level's method is the one with the lowest mean MASE over a rolling-origin backtest of every
series at that level (one origin per month, `windows` origins, horizons 1..h). Intervals are the
models' own 80% intervals.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from server.domain.forecast import Band, bias, mase, reconcile_ols, rolling_origins, wape, within_band_share

METHODS = ("SeasonalNaive", "AutoETS", "AutoTheta", "CrostonOptimized")
LEVEL = 80
MIN_TRAIN = 3  # months of history before the first backtest origin


@dataclass
class HorizonScore:
    horizon: int
    wape: float | None
    bias: float | None
    mase: float | None
    within: float | None
    n: int
    coverage: float | None = None  # share of actuals inside the 80% interval


@dataclass
class Backtest:
    chosen: str
    scores: dict[str, list[HorizonScore]] = field(default_factory=dict)  # method -> by horizon
    # the chosen method's scores per series (its own track record), by horizon
    per_series: dict[str, list[HorizonScore]] = field(default_factory=dict)

    def mean_mase(self, method: str) -> float:
        values = [s.mase for s in self.scores.get(method, []) if s.mase is not None]
        return fmean(values) if values else float("inf")


def engine_version() -> str:
    import statsforecast

    return f"statsforecast {statsforecast.__version__}"


def _season_for(length: int, season: int) -> int:
    return season if length >= 2 * season else 1


def _models(season: int) -> list[Any]:
    from statsforecast.models import AutoETS, AutoTheta, CrostonOptimized, SeasonalNaive

    return [
        SeasonalNaive(season_length=season),
        AutoETS(season_length=season),
        AutoTheta(season_length=season),
        CrostonOptimized(),
    ]


def _frame(series: Mapping[str, Sequence[float]]) -> Any:
    import pandas as pd  # type: ignore[import-untyped]

    rows = []
    for key, values in series.items():
        for i, value in enumerate(values):
            rows.append((key, i + 1, float(value)))
    return pd.DataFrame(rows, columns=["unique_id", "ds", "y"])


def _sf(season: int) -> Any:
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    return StatsForecast(
        models=_models(season), freq=1, n_jobs=1, fallback_model=SeasonalNaive(season_length=1)
    )


def _tidy(frame: Any) -> Any:
    """Column names usable as attributes ('AutoETS-lo-80' -> 'AutoETS_lo_80')."""
    frame = frame.reset_index() if "unique_id" not in frame.columns else frame
    frame.columns = [str(c).replace("-", "_") for c in frame.columns]
    return frame


def backtest(
    series: Mapping[str, Sequence[float]], season: int = 12, horizon: int = 3, windows: int = 12
) -> Backtest:
    """Rolling-origin backtest of every candidate on all `series` (equal length, monthly)."""
    length = min((len(v) for v in series.values()), default=0)
    origins = rolling_origins(length, horizon, windows, MIN_TRAIN)
    if not origins:
        return Backtest(chosen="SeasonalNaive" if length < 2 * MIN_TRAIN else "AutoETS")
    errors: dict[str, dict[int, list[tuple[float, float, float, float, list[float]]]]] = {
        m: {h: [] for h in range(1, horizon + 1)} for m in METHODS
    }
    trimmed = {k: [float(x) for x in v][:length] for k, v in series.items()}
    keyed: dict[str, dict[str, dict[int, list[tuple[float, float, float, float, list[float]]]]]] = {
        m: {k: {h: [] for h in range(1, horizon + 1)} for k in series} for m in METHODS
    }
    for train_len in origins:
        train = {k: v[:train_len] for k, v in trimmed.items()}
        s = _season_for(train_len, season)
        fc = _tidy(_sf(s).forecast(df=_frame(train), h=horizon, level=[LEVEL]))
        for row in fc.itertuples(index=False):
            key = row.unique_id
            h = int(row.ds) - train_len
            actual = trimmed[key][train_len + h - 1]
            for method in METHODS:
                point = float(getattr(row, method))
                low = float(getattr(row, f"{method}_lo_{LEVEL}", point))
                high = float(getattr(row, f"{method}_hi_{LEVEL}", point))
                errors[method][h].append((actual, point, low, high, train[key]))
                keyed[method][key][h].append((actual, point, low, high, train[key]))
    result = Backtest(chosen="SeasonalNaive")
    for method in METHODS:
        result.scores[method] = [_score(h, errors[method][h], season) for h in range(1, horizon + 1)]
    result.chosen = min(METHODS, key=lambda m: (result.mean_mase(m), METHODS.index(m)))
    result.per_series = {
        key: [_score(h, by_h[h], season) for h in range(1, horizon + 1)]
        for key, by_h in keyed[result.chosen].items()
    }
    return result


def _score(h: int, rows: list[tuple[float, float, float, float, list[float]]], season: int) -> HorizonScore:
    actual = [r[0] for r in rows]
    point = [r[1] for r in rows]
    scaled = [m for r in rows if (m := mase([r[0]], [r[1]], r[4], season)) is not None]
    relative = [(r[1] - r[0]) / r[0] for r in rows if r[0]]
    inside = [r[2] <= r[0] <= r[3] for r in rows]
    return HorizonScore(
        horizon=h,
        wape=wape(actual, point),
        bias=bias(actual, point),
        mase=fmean(scaled) if scaled else None,
        within=within_band_share(relative),
        n=len(rows),
        coverage=sum(inside) / len(inside) if inside else None,
    )


def predict(
    series: Mapping[str, Sequence[float]], method: str, season: int = 12, horizon: int = 6
) -> dict[str, list[Band]]:
    """Point and 80% band for horizons 1..`horizon` of every series with the chosen method."""
    if not series:
        return {}
    length = min(len(v) for v in series.values())
    if length == 0:
        return {k: [Band(0.0, 0.0, 0.0)] * horizon for k in series}
    fc = _tidy(_sf(_season_for(length, season)).forecast(df=_frame(series), h=horizon, level=[LEVEL]))
    out: dict[str, list[Band]] = {k: [] for k in series}
    for row in fc.sort_values(["unique_id", "ds"]).itertuples(index=False):
        point = float(getattr(row, method))
        low = float(getattr(row, f"{method}_lo_{LEVEL}", point))
        high = float(getattr(row, f"{method}_hi_{LEVEL}", point))
        out[row.unique_id].append(Band(point, min(low, point), max(high, point)))
    return out


def reconcile(
    leaves: Sequence[str], parents: Mapping[str, Sequence[str]], base: Mapping[str, Sequence[float]]
) -> tuple[dict[str, list[float]], str]:
    """Coherent forecasts for every node and horizon: Nixtla hierarchicalforecast's MinTrace
    (OLS weights) when installed, else the same projection in numpy (server.domain.forecast)."""
    # hierarchicalforecast expects the aggregates first and the bottom level last
    nodes = [p for p in parents if p not in set(leaves)] + list(leaves)
    horizons = len(next(iter(base.values()), []))
    try:
        import numpy as np
        from hierarchicalforecast.methods import MinTrace  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - the fallback is tested through reconcile_ols
        out: dict[str, list[float]] = {n: [] for n in nodes}
        for h in range(horizons):
            coherent = reconcile_ols(leaves, parents, {n: base[n][h] for n in nodes})
            for n in nodes:
                out[n].append(coherent[n])
        return out, "OLS projection (numpy)"
    index = {leaf: i for i, leaf in enumerate(leaves)}
    s = np.zeros((len(nodes), len(leaves)))
    for row, node in enumerate(nodes):
        for leaf in [node] if node in index else parents[node]:
            s[row, index[leaf]] = 1.0
    y_hat = np.array([[float(v) for v in base[n]] for n in nodes])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean = MinTrace(method="ols").fit_predict(S=s, y_hat=y_hat)["mean"]
    return {n: [float(v) for v in mean[i]] for i, n in enumerate(nodes)}, "hierarchicalforecast MinTrace(ols)"
