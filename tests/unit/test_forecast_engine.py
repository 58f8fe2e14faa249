"""The statsforecast engine on a simulated world with a known generating process: intervals hold
the truth at about their nominal 80%, the choice beats seasonal naive where it should, and the
CLI backtest reads a company's CSV and names bad rows."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import main
from server.services.forecasts import engine


def world(series: int, months: int, seed: int) -> dict[str, list[float]]:
    """Monthly revenue: level x (1 + 0.25 sin(season)) + a slow trend + Gaussian noise (sd 6%)."""
    rng = random.Random(seed)
    out = {}
    for k in range(series):
        level = rng.uniform(20_000, 80_000)
        phase = rng.uniform(0, 2 * math.pi)
        out[f"rep{k}"] = [
            max(
                0.0,
                level * (1 + 0.25 * math.sin(2 * math.pi * t / 12 + phase))
                + 40 * t
                + rng.gauss(0, 0.06 * level),
            )
            for t in range(months)
        ]
    return out


@pytest.mark.heavy
def test_intervals_cover_the_truth_near_nominal_and_beat_seasonal_naive() -> None:
    result = engine.backtest(world(24, 48, seed=11), season=12, horizon=1, windows=12)
    chosen = result.scores[result.chosen][0]
    assert chosen.n == 24 * 12
    # 288 draws of an 80% interval: a binomial sd of 2.4 points; allow about 3 sd either way
    assert chosen.coverage is not None and 0.72 <= chosen.coverage <= 0.88, chosen
    assert chosen.mase is not None and chosen.mase < result.mean_mase("SeasonalNaive")
    assert chosen.wape is not None and chosen.wape < 0.1  # noise alone is 6%


def test_intermittent_series_and_short_histories_still_forecast() -> None:
    lumpy = {"a": [0, 0, 900, 0, 0, 0, 1200, 0, 0, 800, 0, 0, 0, 1000, 0, 0, 0, 0, 700, 0]}
    assert engine.backtest(lumpy, horizon=1, windows=6).chosen in engine.METHODS
    short = engine.predict({"a": [100.0, 120.0]}, "AutoETS", horizon=3)
    assert len(short["a"]) == 3 and all(b.low <= b.point <= b.high for b in short["a"])
    assert engine.backtest({"a": [1.0, 2.0]}).scores == {}


def test_cli_backtest_table_json_and_named_errors(tmp_path: Path) -> None:
    values = world(1, 40, seed=5)["rep0"]
    good = tmp_path / "history.csv"
    good.write_text(
        "period,amount\n"
        + "".join(f"{2023 + i // 12}-{i % 12 + 1:02d},{v:.2f}\n" for i, v in enumerate(values))
    )
    runner = CliRunner()
    table = runner.invoke(main, ["forecast", "backtest", "--csv", str(good), "--horizon", "2"])
    assert table.exit_code == 0, table.output
    assert "AutoETS" in table.output and "chosen:" in table.output
    as_json = runner.invoke(main, ["forecast", "backtest", "--csv", str(good), "--json", "--season", "12"])
    report = json.loads(as_json.output)
    assert report["months"] == 40 and set(report["methods"]) == set(engine.METHODS)
    assert report["chosen"] in engine.METHODS and len(report["methods"]["AutoETS"]) == 3
    for body, message in (
        ("period,amount\n2026-01,5\n2026-03,6\n", "line 3"),
        ("period,amount\n2026-01,abc\n", "not a number"),
        ("month,amount\n2026-01,5\n", "period,amount"),
        ("period,amount\n2026-Q1,5\n", "must be a month"),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(body)
        failed = runner.invoke(main, ["forecast", "backtest", "--csv", str(bad)])
        assert failed.exit_code == 2 and message in failed.output, (body, failed.output)


@pytest.mark.parametrize("horizon", [1, 3])
def test_backtest_scores_every_method_at_every_horizon(horizon: int) -> None:
    result = engine.backtest(world(3, 30, seed=2), horizon=horizon, windows=4)
    assert set(result.scores) == set(engine.METHODS)
    assert all(
        [s.horizon for s in scores] == list(range(1, horizon + 1)) for scores in result.scores.values()
    )


def test_hierarchicalforecast_mintrace_matches_the_ols_projection() -> None:
    from server.domain.forecast import reconcile_ols

    parents = {"team": ["a", "b"], "company": ["a", "b", "c"]}
    base = {
        "a": [10.0, 11.0],
        "b": [20.0, 19.0],
        "c": [5.0, 6.0],
        "team": [36.0, 30.0],
        "company": [50.0, 40.0],
    }
    coherent, how = engine.reconcile(["a", "b", "c"], parents, base)
    assert how.startswith("hierarchicalforecast")
    for h in range(2):
        oracle = reconcile_ols(["a", "b", "c"], parents, {k: v[h] for k, v in base.items()})
        assert {k: v[h] for k, v in coherent.items()} == pytest.approx(oracle)
        assert coherent["company"][h] == pytest.approx(coherent["a"][h] + coherent["b"][h] + coherent["c"][h])


def test_each_series_gets_its_own_track_record() -> None:
    series = world(3, 30, seed=4)
    result = engine.backtest(series, horizon=2, windows=5)
    assert set(result.per_series) == set(series)
    for scores in result.per_series.values():
        assert [s.horizon for s in scores] == [1, 2] and all(s.n == 5 for s in scores)
        assert all(s.within is not None and s.within >= 0 for s in scores)
    level_h1 = result.scores[result.chosen][0]
    assert level_h1.n == sum(scores[0].n for scores in result.per_series.values())


def test_the_selection_sample_is_deterministic_bounded_and_spread_by_revenue() -> None:
    series = {f"rep{k:03d}": [float(k)] * 6 for k in range(500)}  # revenue rises with k
    picked = engine.sample(series, 50)
    assert len(picked) == 50 and len(set(picked)) == 50 and set(picked) <= set(series)
    assert picked == engine.sample(dict(reversed(list(series.items()))), 50)  # order of the input
    ranks = sorted(int(k[3:]) for k in picked)
    assert ranks[0] < 10 and ranks[-1] > 490  # the smallest and the largest are represented
    assert max(b - a for a, b in itertools.pairwise(ranks)) <= 10  # evenly spread
    assert engine.sample(dict(list(series.items())[:30]), 50) == sorted(list(series)[:30])


def test_predict_fits_only_the_chosen_model_and_equals_the_library_column() -> None:
    """The bands are statsforecast's own for that method, as when all candidates were fitted
    together; seasonal naive (computed in numpy) included, with and without a season. Croston has
    no interval of its own: its band is its point (asked for one, the library would fail it over
    to the seasonal-naive fallback, which is what the first version stored)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, AutoTheta, CrostonOptimized, SeasonalNaive

    for months in (12, 30):
        series = world(4, months, seed=8)
        season = 12 if months >= 24 else 1
        models = [
            SeasonalNaive(season_length=season),
            AutoETS(season_length=season),
            AutoTheta(season_length=season),
        ]
        frame = engine._frame(list(series), list(series.values()))
        together = StatsForecast(models=models, freq=1, n_jobs=1).forecast(df=frame, h=6, level=[80])
        croston = StatsForecast(models=[CrostonOptimized()], freq=1, n_jobs=1).forecast(df=frame, h=6)
        together["CrostonOptimized"] = croston["CrostonOptimized"].to_numpy()
        for method in engine.METHODS:
            bands = engine.predict(series, method, horizon=6)
            for key, values in series.items():
                rows = together[together["unique_id"] == key].sort_values("ds")
                assert rows["ds"].tolist() == list(range(len(values) + 1, len(values) + 7))
                point = rows[method].tolist()
                low = rows[f"{method}-lo-80"].tolist() if f"{method}-lo-80" in rows else point
                high = rows[f"{method}-hi-80"].tolist() if f"{method}-hi-80" in rows else point
                assert [b.point for b in bands[key]] == pytest.approx(point, rel=1e-9)
                assert [b.low for b in bands[key]] == pytest.approx(
                    [min(lo, p) for lo, p in zip(low, point, strict=True)], rel=1e-9
                )
                assert [b.high for b in bands[key]] == pytest.approx(
                    [max(hi, p) for hi, p in zip(high, point, strict=True)], rel=1e-9
                )


def test_seasonal_naive_in_numpy_scores_as_the_library_does() -> None:
    """Backtesting seasonal naive alone (numpy) gives the same scores, coverage included, as in a
    backtest of every candidate (where the others go through statsforecast)."""
    series = world(5, 30, seed=9)
    alone = engine.backtest(series, horizon=2, windows=4, methods=("SeasonalNaive",))
    every = engine.backtest(series, horizon=2, windows=4)
    for a, b in zip(alone.scores["SeasonalNaive"], every.scores["SeasonalNaive"], strict=True):
        assert (a.wape, a.bias, a.mase, a.within, a.coverage, a.n) == pytest.approx(
            (b.wape, b.bias, b.mase, b.within, b.coverage, b.n), rel=1e-9
        )


def test_a_method_must_beat_seasonal_naive_by_more_than_one_standard_error() -> None:
    import numpy as np

    result = engine.Backtest(chosen="SeasonalNaive")
    result.scores = {
        "SeasonalNaive": [engine.HorizonScore(1, None, None, 1.00, None, 4)],
        "AutoETS": [engine.HorizonScore(1, None, None, 0.98, None, 4)],
    }
    # per series mean scaled errors: AutoETS lower by 0.02 on average, but by 0.12 to -0.08
    naive = np.array([1.0, 1.0, 1.0, 1.0]).reshape(4, 1, 1)
    noisy = np.array([0.88, 1.08, 0.90, 1.06]).reshape(4, 1, 1)
    assert (
        engine._parsimonious(result, "AutoETS", {"SeasonalNaive": naive, "AutoETS": noisy}) == "SeasonalNaive"
    )
    steady = np.array([0.97, 0.99, 0.98, 0.98]).reshape(4, 1, 1)  # lower on every series
    assert engine._parsimonious(result, "AutoETS", {"SeasonalNaive": naive, "AutoETS": steady}) == "AutoETS"
    one = {"SeasonalNaive": naive[:1], "AutoETS": noisy[:1]}  # one series: the lowest MASE
    assert engine._parsimonious(result, "AutoETS", one) == "AutoETS"
    # a clear trend: a trend model beats seasonal naive by far more than the noise
    rng = random.Random(3)
    trend = {f"s{k}": [100.0 * t + rng.gauss(0, 5) for t in range(20)] for k in range(10)}
    clear = engine.backtest(trend, horizon=1, windows=6, intervals=False)
    assert clear.chosen != "SeasonalNaive"
    assert all(s.coverage is None for s in clear.scores[clear.chosen])  # points only


def test_the_woodbury_form_of_mintrace_equals_hierarchicalforecast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large hierarchies reconcile without the leaves x leaves matrix; the same numbers."""
    rng = random.Random(12)
    leaves = [f"rep{i}" for i in range(60)]
    parents: dict[str, list[str]] = {f"team{t}": leaves[t * 6 : (t + 1) * 6] for t in range(10)}
    parents |= {"region0": leaves[:30], "region1": leaves[30:], "company": list(leaves)}
    base = {node: [rng.uniform(1_000, 90_000) for _ in range(4)] for node in [*leaves, *parents]}
    library, how = engine.reconcile(leaves, parents, base)
    assert how == "hierarchicalforecast MinTrace(ols)"
    monkeypatch.setattr(engine, "DENSE_LEAVES", 50)
    woodbury, how = engine.reconcile(leaves, parents, base)
    assert how == "MinTrace(ols), Woodbury form (numpy)"
    assert set(woodbury) == set(library)
    for node, values in library.items():
        assert woodbury[node] == pytest.approx(values, rel=1e-9, abs=1e-6)
    for unit, below in parents.items():
        for h in range(4):
            assert woodbury[unit][h] == pytest.approx(sum(woodbury[leaf][h] for leaf in below), rel=1e-12)
