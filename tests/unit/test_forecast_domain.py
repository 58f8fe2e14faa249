"""Pure forecast rules: accuracy measures, rolling origins, in-period composition, interval
combination, OLS reconciliation and period parsing (table tests)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from server.domain.forecast import (
    Band,
    add_months,
    bias,
    combine_bands,
    compose_in_period,
    lifted,
    mase,
    naive_scale,
    period_bounds,
    quarter_key,
    reconcile_ols,
    rolling_origins,
    wape,
    with_pipeline,
    within_band_share,
)


@pytest.mark.parametrize(
    ("actual", "forecast", "expected_wape", "expected_bias"),
    [
        ([100, 100], [110, 90], 0.1, 0.0),
        ([100, 300], [100, 300], 0.0, 0.0),
        ([100, 100], [120, 120], 0.2, 0.2),
        ([200, 0], [100, 50], 0.75, -0.25),
        ([-50, 150], [0, 150], 0.25, 0.25),  # a credit note month counts by its size
        ([0, 0], [1, 1], None, None),
    ],
)
def test_wape_and_bias(
    actual: list[float], forecast: list[float], expected_wape: float | None, expected_bias: float | None
) -> None:
    assert (
        wape(actual, forecast) == pytest.approx(expected_wape)
        if expected_wape is not None
        else wape(actual, forecast) is None
    )
    assert (
        bias(actual, forecast) == pytest.approx(expected_bias)
        if expected_bias is not None
        else bias(actual, forecast) is None
    )


@pytest.mark.parametrize(
    ("history", "season", "scale"),
    [
        ([1, 2, 3, 4], 12, 1.0),  # shorter than a season: lag 1
        ([10, 20, 10, 20, 10, 20], 2, None),  # perfectly seasonal: seasonal naive never errs
        ([10, 20, 12, 26], 2, 4.0),  # |12-10|, |26-20| -> mean 4
        ([5], 1, None),
    ],
)
def test_naive_scale(history: list[float], season: int, scale: float | None) -> None:
    assert naive_scale(history, season) == (pytest.approx(scale) if scale is not None else None)


def test_mase_against_seasonal_naive() -> None:
    assert mase([14, 30], [12, 26], [10, 20, 12, 26], 2) == pytest.approx((2 + 4) / 2 / 4)
    assert mase([1], [1], [3, 3, 3], 1) is None
    with pytest.raises(ValueError):
        mase([1, 2], [1], [1, 2, 3], 1)


@pytest.mark.parametrize(
    ("n", "horizon", "windows", "min_train", "origins"),
    [
        (10, 3, 3, 3, [5, 6, 7]),
        (10, 3, 12, 3, [3, 4, 5, 6, 7]),
        (5, 3, 4, 3, []),
        (6, 3, 4, 3, [3]),
        (24, 1, 2, 12, [22, 23]),
    ],
)
def test_rolling_origins(n: int, horizon: int, windows: int, min_train: int, origins: list[int]) -> None:
    assert rolling_origins(n, horizon, windows, min_train) == origins
    for train in origins:  # every origin leaves a full horizon to score, never past the end
        assert train >= min_train and train + horizon <= n


@pytest.mark.parametrize(
    ("actual", "band", "total", "left", "expected"),
    [
        # 10 of 20 working days left: half the month's forecast remains, its band width x sqrt(1/2)
        (Decimal("500"), Band(1000, 800, 1200), 20, 10, ("1000.00", "858.58", "1141.42")),
        # month over: the actual is the forecast, no uncertainty left
        (Decimal("987.65"), Band(1000, 800, 1200), 20, 0, ("987.65", "987.65", "987.65")),
        # start of the month: the whole model band
        (Decimal("0"), Band(1000, 800, 1200), 21, 21, ("1000.00", "800.00", "1200.00")),
        # a negative model low never pulls below what is booked
        (Decimal("300"), Band(100, -50, 250), 10, 5, ("350.00", "300.00", "456.07")),
    ],
)
def test_compose_in_period(
    actual: Decimal, band: Band, total: int, left: int, expected: tuple[str, str, str]
) -> None:
    assert compose_in_period(actual, band, total, left) == tuple(Decimal(v) for v in expected)


def test_compose_rejects_impossible_days() -> None:
    with pytest.raises(ValueError):
        compose_in_period(Decimal(0), Band(1, 1, 1), 10, 11)


def test_combine_bands_adds_points_and_widths_in_quadrature() -> None:
    combined = combine_bands([Band(100, 70, 140), Band(200, 160, 230)])
    assert combined.point == 300
    assert combined.low == pytest.approx(300 - 50)  # sqrt(30^2 + 40^2)
    assert combined.high == pytest.approx(300 + (40**2 + 30**2) ** 0.5)


def test_reconcile_ols_is_coherent_and_keeps_coherent_input() -> None:
    parents = {"team": ["a", "b"], "company": ["a", "b", "c"]}
    coherent = {"a": 10.0, "b": 20.0, "c": 5.0, "team": 30.0, "company": 35.0}
    assert reconcile_ols(["a", "b", "c"], parents, coherent) == pytest.approx(coherent)
    out = reconcile_ols(["a", "b", "c"], parents, {"a": 10, "b": 20, "c": 5, "team": 36, "company": 50})
    assert out["team"] == pytest.approx(out["a"] + out["b"])
    assert out["company"] == pytest.approx(out["a"] + out["b"] + out["c"])
    assert out["team"] > 30 and out["company"] > 35  # the aggregates' information moved the leaves


@pytest.mark.parametrize(
    ("period", "bounds"),
    [
        ("2026-11", (date(2026, 11, 1), date(2026, 11, 30), "month")),
        ("2026-12", (date(2026, 12, 1), date(2026, 12, 31), "month")),
        ("2026-Q4", (date(2026, 10, 1), date(2026, 12, 31), "quarter")),
        ("2027-q1", (date(2027, 1, 1), date(2027, 3, 31), "quarter")),
    ],
)
def test_period_bounds(period: str, bounds: tuple[date, date, str]) -> None:
    assert period_bounds(period) == bounds


@pytest.mark.parametrize(
    "period",
    ["2026-13", "2026-Q5", "2026", "26-11", "2026-1", "2026-Q", "x-11", "9999-12", "9999-Q4", "0000-01", ""],
)
def test_bad_periods(period: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM or YYYY-Qn"):
        period_bounds(period)


def test_month_and_quarter_keys() -> None:
    assert add_months("2026-11", 2) == "2027-01" and add_months("2027-01", -1) == "2026-12"
    assert quarter_key(date(2026, 11, 18)) == "2026-Q4"
    assert within_band_share([0.01, -0.02, 0.05, 0.1, -0.3]) == 0.1
    assert within_band_share([]) is None


def test_track_record_line_quotes_the_measured_band() -> None:
    from server.services.forecasts.cards import track_record_line

    line = track_record_line({"within": 0.0812, "months": 6, "n": 24, "own": False})
    assert line is not None and "±8%" in line and "6 months" in line and "level" in line
    own = track_record_line({"within": 0.12, "months": 12, "n": 12, "own": True})
    assert own is not None and "±12%" in own and "here" in own
    assert track_record_line({"within": None, "months": 6}) is None
    assert track_record_line(None) is None


def test_band_chart_is_accessible_svg() -> None:
    from server.domain.forecast_chart import band_chart

    svg = band_chart(
        "f1",
        "Forecast <this> month",
        "desc",
        actual=Decimal(50),
        point=Decimal(100),
        low=Decimal(80),
        high=Decimal(120),
        plan=Decimal(130),
    )
    assert 'role="img"' in svg and "Forecast &lt;this&gt; month" in svg
    assert svg.count("chart-band") == 1 and svg.count("chart-marker") == 1
    assert "chart-marker" not in band_chart(
        "f2", "t", "d", actual=Decimal(0), point=Decimal(0), low=Decimal(0), high=Decimal(0), plan=None
    )


@pytest.mark.parametrize("day", [3, 10, 11, 20])
def test_in_period_interval_covers_the_final_at_its_nominal_rate(day: int) -> None:
    """A month of 21 independent working days with a known 80% band: after `day` of them, the
    composed interval holds the month's final total about 80% of the time (a rest band narrowed
    linearly with the days left held it 64% of the time on day 10 and 23% on day 20)."""
    import random

    rng = random.Random(day)
    days, mean, sd, z80 = 21, 1000.0, 400.0, 1.2816
    half = z80 * sd * days**0.5
    band = Band(mean * days, mean * days - half, mean * days + half)
    draws, inside = 3000, 0
    for _ in range(draws):
        amounts = [rng.gauss(mean, sd) for _ in range(days)]
        _point, low, high = compose_in_period(Decimal(repr(sum(amounts[:day]))), band, days, days - day)
        inside += float(low) <= sum(amounts) <= float(high)
    assert 0.76 <= inside / draws <= 0.84


def test_pipeline_is_the_larger_of_the_model_rest_and_the_weighted_deals_never_their_sum() -> None:
    rest = Band(1000.0, 600.0, 1500.0)
    assert with_pipeline(rest, 0.0) == rest
    assert with_pipeline(rest, 800.0) == rest  # the model already expects more than the deals
    raised = with_pipeline(rest, 5000.0)
    assert raised == Band(5000.0, 600.0, 5500.0)  # point and upper bound up by 4000, not the floor
    assert lifted(rest, 4000.0) == raised
    point, low, high = compose_in_period(Decimal("2000.00"), raised, 1, 1)
    assert (point, low, high) == (Decimal("7000.00"), Decimal("2600.00"), Decimal("7500.00"))
