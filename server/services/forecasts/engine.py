"""The statistical engine: Nixtla statsforecast, imported only here and only when a job or the CLI
calls in (its import and numba compilation take seconds; the web app never pays for it).

Candidates: seasonal naive, AutoETS, AutoTheta and Croston (optimized; for intermittent series).
`backtest` scores candidates by a rolling-origin backtest (one origin per month, `windows`
origins, horizons 1..h) and chooses the lowest mean MASE, or seasonal naive when the best beats
it by no more than one standard error; the refit runs it on a bounded `sample` of a level's
series to choose, then with the chosen method alone on every series for their track records
(docs/forecasting.md). Intervals are the models' own 80% intervals (Croston has none: its band is
its point). Seasonal naive is computed in numpy (the library's own formulas, tested equal); the
others through statsforecast, frames built and forecasts read column-wise.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from server.domain.forecast import Band, reconcile_ols, rolling_origins, within_band_share

METHODS = ("SeasonalNaive", "AutoETS", "AutoTheta", "CrostonOptimized")
NO_INTERVALS = frozenset({"CrostonOptimized"})  # its band is its point
DENSE_LEAVES = 2000  # reconcile with hierarchicalforecast up to this many leaves (see reconcile)
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


def _model(method: str, season: int) -> Any:
    from statsforecast import models

    if method == "CrostonOptimized":
        return models.CrostonOptimized()
    return getattr(models, method)(season_length=season)


def _sf(season: int, methods: Sequence[str]) -> Any:
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    return StatsForecast(
        models=[_model(m, season) for m in methods],
        freq=1,
        n_jobs=1,
        fallback_model=SeasonalNaive(season_length=1),
    )


def _frame(keys: Sequence[str], values: Any) -> Any:
    """The long frame statsforecast reads (unique_id, ds = 1..len, y), built with numpy."""
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]

    lengths = np.array([len(v) for v in values], dtype=np.int64)
    y = np.concatenate([np.asarray(v, dtype=np.float64) for v in values]) if len(values) else np.zeros(0)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return pd.DataFrame(
        {
            "unique_id": np.repeat(np.asarray(keys, dtype=object), lengths),
            "ds": np.arange(len(y), dtype=np.int64) - starts + 1,
            "y": y,
        }
    )


def _forecast(
    keys: Sequence[str], values: Any, methods: Sequence[str], season: int, h: int, intervals: bool
) -> dict[str, tuple[Any, Any, Any]]:
    """Fit `methods` on every series and forecast h steps: method -> (point, low, high), each a
    (series in `keys` order, step 1..h) array read column-wise from statsforecast's frame. low and
    high are the point without `intervals` and for a model that has no interval of its own
    (Croston): asked for one, statsforecast would fail it over to the seasonal-naive fallback."""
    import numpy as np
    import pandas as pd

    frame = _frame(keys, values)
    lengths = np.array([len(v) for v in values], dtype=np.int64)
    out = {}
    banded = [m for m in methods if m not in NO_INTERVALS] if intervals else []
    for group, kwargs in (
        (banded, {"level": [LEVEL]}),
        ([m for m in methods if m not in banded], {}),
    ):
        if not group:
            continue
        fc = _sf(season, group).forecast(df=frame, h=h, **kwargs)
        if "unique_id" not in fc.columns:
            fc = fc.reset_index()
        rows = pd.Index(keys).get_indexer(fc["unique_id"])
        step = fc["ds"].to_numpy(dtype=np.int64) - lengths[rows] - 1
        for method in group:
            arrays = []
            for column in (method, f"{method}-lo-{LEVEL}", f"{method}-hi-{LEVEL}"):
                array = np.full((len(keys), h), np.nan)
                array[rows, step] = fc[column if column in fc else method].to_numpy(np.float64)
                arrays.append(array)
            out[method] = (arrays[0], arrays[1], arrays[2])
    return out


def sample(series: Mapping[str, Sequence[float]], limit: int) -> list[str]:
    """At most `limit` keys, evenly spread over the series ranked by total revenue (ties by key):
    deterministic, and small and large series are both in it. All keys when there are few."""
    keys = sorted(series)
    if len(keys) <= limit:
        return keys
    ranked = sorted(keys, key=lambda k: (sum(series[k]), k))
    return sorted(ranked[(2 * i + 1) * len(ranked) // (2 * limit)] for i in range(limit))


def backtest(
    series: Mapping[str, Sequence[float]],
    season: int = 12,
    horizon: int = 3,
    windows: int = 12,
    methods: Sequence[str] = METHODS,
    intervals: bool = True,
) -> Backtest:
    """Rolling-origin backtest of `methods` (every candidate by default) on all `series` (equal
    length, monthly); `chosen` is the lowest mean MASE. Without `intervals` the models fit points
    only (coverage is None): the refit stores no coverage, and the interval code costs more than
    the fit."""
    import numpy as np

    length = min((len(v) for v in series.values()), default=0)
    origins = rolling_origins(length, horizon, windows, MIN_TRAIN)
    if not origins:
        return Backtest(chosen="SeasonalNaive" if length < 2 * MIN_TRAIN else "AutoETS")
    keys = list(series)
    y = np.array([[float(x) for x in series[k][:length]] for k in keys], dtype=np.float64)
    n, o = len(keys), len(origins)
    shape = (n, o, horizon)
    actual = np.empty(shape)
    point = {m: np.empty(shape) for m in methods}
    low = {m: np.empty(shape) for m in methods}
    high = {m: np.empty(shape) for m in methods}
    scale = np.empty((n, o))  # the in-sample seasonal naive error each origin's MASE divides by
    fitted = [m for m in methods if m != "SeasonalNaive"]  # seasonal naive: in numpy, all at once
    for j, train_len in enumerate(origins):
        actual[:, j, :] = y[:, train_len : train_len + horizon]
        scale[:, j] = _naive_scale(y[:, :train_len], season)
        s = _season_for(train_len, season)
        if fitted:
            fc = _forecast(keys, y[:, :train_len], fitted, s, horizon, intervals)
            for m in fitted:
                point[m][:, j, :], low[m][:, j, :], high[m][:, j, :] = fc[m]
        if "SeasonalNaive" in methods:
            p, lo, hi = _seasonal_naive(y[:, :train_len], s, horizon)
            point["SeasonalNaive"][:, j, :] = p
            low["SeasonalNaive"][:, j, :] = lo if intervals else p
            high["SeasonalNaive"][:, j, :] = hi if intervals else p
    result = Backtest(chosen="SeasonalNaive")
    for m in methods:
        result.scores[m] = _scores(actual, point[m], low[m], high[m], scale, intervals, pooled=True)[0]
    best = min(methods, key=lambda m: (result.mean_mase(m), METHODS.index(m)))
    result.chosen = _parsimonious(
        result, best, {m: np.abs(point[m] - actual) / scale[:, :, None] for m in methods}
    )
    c = result.chosen
    by_series = _scores(actual, point[c], low[c], high[c], scale, intervals, pooled=False)
    result.per_series = dict(zip(keys, by_series, strict=True))
    return result


def _parsimonious(result: Backtest, best: str, scaled: Mapping[str, Any]) -> str:
    """Seasonal naive unless `best` beats it by more than one standard error (the one-standard-
    error rule): the paired difference of each series' mean scaled error, over the level's
    series. A level with one series takes the lowest MASE."""
    import numpy as np

    naive = "SeasonalNaive"
    if best == naive or naive not in scaled:
        return best
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a series with no scalable row: NaN
        diff = np.nanmean(scaled[naive], axis=(1, 2)) - np.nanmean(scaled[best], axis=(1, 2))
    diff = diff[~np.isnan(diff)]
    if len(diff) < 2:
        return best
    standard_error = float(np.std(diff, ddof=1)) / len(diff) ** 0.5
    return naive if result.mean_mase(naive) - result.mean_mase(best) <= standard_error else best


def _naive_scale(history: Any, season: int) -> Any:
    """server.domain.forecast.naive_scale of every row at once (NaN where it is None)."""
    import numpy as np

    lag = season if history.shape[1] > season else 1
    if history.shape[1] <= lag:
        return np.full(history.shape[0], np.nan)
    diffs = np.abs(history[:, lag:] - history[:, :-lag]).mean(axis=1)
    return np.where(diffs > 0, diffs, np.nan)


def _scores(
    actual: Any, point: Any, low: Any, high: Any, scale: Any, intervals: bool, pooled: bool
) -> list[list[HorizonScore]]:
    """HorizonScores (as `_score` would give for the same rows) of the (series, origin, horizon)
    arrays: one list over all series when `pooled`, else one per series."""
    import numpy as np

    if pooled:
        actual, point, low, high = (a.reshape(1, -1, a.shape[2]) for a in (actual, point, low, high))
        scale = scale.reshape(1, -1)
    error = point - actual
    volume = np.abs(actual).sum(axis=1)
    abs_error = np.abs(error).sum(axis=1)
    signed = error.sum(axis=1)
    scaled = np.abs(error) / scale[:, :, None]
    scaled_n = (~np.isnan(scaled)).sum(axis=1)
    scaled_sum = np.nansum(scaled, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(actual != 0, error / actual, np.nan)
    inside = ((low <= actual) & (actual <= high)).mean(axis=1)
    count = actual.shape[1]
    out = []
    for i in range(actual.shape[0]):
        scores = []
        for h in range(actual.shape[2]):
            v = float(volume[i, h])
            rel = relative[i, :, h]
            scores.append(
                HorizonScore(
                    horizon=h + 1,
                    wape=float(abs_error[i, h]) / v if v else None,
                    bias=float(signed[i, h]) / v if v else None,
                    mase=float(scaled_sum[i, h]) / int(scaled_n[i, h]) if scaled_n[i, h] else None,
                    within=within_band_share(rel[~np.isnan(rel)].tolist()),
                    n=count,
                    coverage=float(inside[i, h]) if intervals and count else None,
                )
            )
        out.append(scores)
    return out


def predict(
    series: Mapping[str, Sequence[float]], method: str, season: int = 12, horizon: int = 6
) -> dict[str, list[Band]]:
    """Point and 80% band for horizons 1..`horizon` of every series, fitting only `method` (and
    statsforecast's seasonal-naive fallback should it fail on a series)."""
    import numpy as np

    if not series:
        return {}
    length = min(len(v) for v in series.values())
    if length == 0:
        return {k: [Band(0.0, 0.0, 0.0)] * horizon for k in series}
    keys = list(series)
    s = _season_for(length, season)
    if method == "SeasonalNaive" and all(len(v) == length for v in series.values()):
        y = np.array([[float(x) for x in series[k]] for k in keys], dtype=np.float64)
        point, low, high = _seasonal_naive(y, s, horizon)
    else:
        point, low, high = _forecast(keys, list(series.values()), [method], s, horizon, True)[method]
    low, high = np.minimum(low, point), np.maximum(high, point)
    return {
        key: [
            Band(p, lo, hi)
            for p, lo, hi in zip(point[i].tolist(), low[i].tolist(), high[i].tolist(), strict=True)
        ]
        for i, key in enumerate(keys)
    }


def _seasonal_naive(y: Any, season: int, horizon: int) -> tuple[Any, Any, Any]:
    """statsforecast's SeasonalNaive with its normal 80% interval (models.SeasonalNaive.forecast:
    the last season repeated; sigma from the in-sample seasonal differences; the half-width grows
    with the square root of the seasons ahead) for a (series, month) array of equal lengths at
    once: the library builds a scipy distribution per series for the interval, which costs more
    than the model. tests/unit/test_forecast_engine.py holds it equal to the library."""
    import numpy as np
    from scipy.stats import norm  # type: ignore[import-untyped]

    n = y.shape[1]
    repeats = -(-horizon // season)
    point = np.tile(y[:, n - season :], repeats)[:, :horizon]
    residuals = y[:, season:] - y[:, : n - season]
    sigma = np.sqrt(np.nansum(residuals**2, axis=1) / (n - season)) if n > season else np.zeros(len(y))
    half = norm.ppf(0.5 + LEVEL / 200) * sigma[:, None] * np.sqrt(np.floor(np.arange(horizon) / season) + 1)
    return point, point - half, point + half


def reconcile(
    leaves: Sequence[str], parents: Mapping[str, Sequence[str]], base: Mapping[str, Sequence[float]]
) -> tuple[dict[str, list[float]], str]:
    """Coherent forecasts for every node and horizon: Nixtla hierarchicalforecast's MinTrace
    (OLS weights) when installed, else the same projection in numpy (server.domain.forecast).
    Above DENSE_LEAVES leaves the same projection in its Woodbury form (`_mintrace_ols`): the
    library builds the dense summing matrix and inverts S'S, leaves x leaves (measured: 0.05 s at
    1,000 leaves, 2.4 s and 1 GB at 4,000, growing as the cube)."""
    # hierarchicalforecast expects the aggregates first and the bottom level last
    nodes = [p for p in parents if p not in set(leaves)] + list(leaves)
    horizons = len(next(iter(base.values()), []))
    if len(leaves) > DENSE_LEAVES:
        return _mintrace_ols(leaves, parents, base), "MinTrace(ols), Woodbury form (numpy)"
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


def _mintrace_ols(
    leaves: Sequence[str], parents: Mapping[str, Sequence[str]], base: Mapping[str, Sequence[float]]
) -> dict[str, list[float]]:
    """MinTrace(ols), y~ = S (S'S)^-1 S' y^, without a leaves x leaves matrix: with U the leaves x
    aggregates indicator (sparse), S'S = I + U U', so (S'S)^-1 = I - U (I + U'U)^-1 U' (Woodbury)
    and the only solve is aggregates x aggregates. Exact, not iterative."""
    import numpy as np
    from scipy import sparse  # type: ignore[import-untyped]

    index = {leaf: i for i, leaf in enumerate(leaves)}
    aggregates = [p for p in parents if p not in index]
    pairs = [(index[leaf], j) for j, node in enumerate(aggregates) for leaf in parents[node]]
    rows, cols = (np.array(v, dtype=np.int64) for v in zip(*pairs, strict=True)) if pairs else ([], [])
    u = sparse.csr_matrix((np.ones(len(pairs)), (rows, cols)), shape=(len(leaves), len(aggregates)))
    horizons = len(next(iter(base.values()), []))
    y_leaves = np.array([[float(v) for v in base[n]] for n in leaves]).reshape(len(leaves), horizons)
    y_aggregates = np.array([[float(v) for v in base[n]] for n in aggregates]).reshape(
        len(aggregates), horizons
    )
    projected = y_leaves + u @ y_aggregates  # S'y
    small = np.eye(len(aggregates)) + (u.T @ u).toarray()
    bottom = projected - u @ np.linalg.solve(small, u.T @ projected) if aggregates else projected
    out = {n: [float(v) for v in bottom[i]] for i, n in enumerate(leaves)}
    out.update({n: [float(v) for v in row] for n, row in zip(aggregates, u.T @ bottom, strict=True)})
    return out
