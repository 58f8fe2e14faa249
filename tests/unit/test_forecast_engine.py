"""The statsforecast engine on a simulated world with a known generating process: intervals hold
the truth at about their nominal 80%, the choice beats seasonal naive where it should, and the
CLI backtest reads a company's CSV and names bad rows."""

from __future__ import annotations

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
