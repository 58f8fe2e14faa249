from datetime import date
from decimal import Decimal

import pytest

from server.domain.breakdown import (
    SubPeriod,
    adjustment_ratio,
    classify_adjustment,
    month_weights_from_json,
    shares_even,
    shares_from_actuals,
    split_amount,
    split_period,
    split_year_into_months,
    validate_month_weights,
)
from server.domain.calendar import month_end, working_days

D = Decimal


@pytest.mark.parametrize(
    ("total", "weights", "places", "expected"),
    [
        # Largest remainder; equal remainders -> the heavier, then the smallest key, whatever the order.
        ("100.00", {"a": 1, "b": 1, "c": 1}, 2, {"a": "33.34", "b": "33.33", "c": "33.33"}),
        ("100.00", {"c": 1, "b": 1, "a": 1}, 2, {"a": "33.34", "b": "33.33", "c": "33.33"}),
        ("100.00", {"x": 1, "y": 2}, 2, {"x": "33.33", "y": "66.67"}),
        # Six 0.11 + 0.33 = 0.99: the missing cent goes to the heaviest child "z", not "a".
        (
            "1.00",
            {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1, "z": 3},
            2,
            {
                "a": "0.11",
                "b": "0.11",
                "c": "0.11",
                "d": "0.11",
                "e": "0.11",
                "f": "0.11",
                "z": "0.34",
            },
        ),
        # 6 x 16.67 cents: four children get 17, two get 16; nobody gives back 2 cents.
        (
            "1.00",
            {"a": 1, "b": 1, "c": 1, "d": 1, "e": 1, "f": 1},
            2,
            {"a": "0.17", "b": "0.17", "c": "0.17", "d": "0.17", "e": "0.16", "f": "0.16"},
        ),
        # 10 visits over 12 equal months: ten months get 1, two get 0 -- never -1.
        ("10", dict.fromkeys(range(1, 13), 1), 0, {m: ("1" if m <= 10 else "0") for m in range(1, 13)}),
        # 30 over 53 weeks: whole, non-negative, the remainder to the largest quotas.
        ("3", {"a": 5, "b": 5, "c": 2}, 0, {"a": "1", "b": "1", "c": "1"}),
        ("10", {1: 1, 2: 1, 3: 1}, 0, {1: "4", 2: "3", 3: "3"}),
        ("0.00", {"a": 1, "b": 3}, 2, {"a": "0.00", "b": "0.00"}),
        ("500.00", {"only": 7}, 2, {"only": "500.00"}),
        ("100.00", {"a": 0, "b": 1}, 2, {"a": "0.00", "b": "100.00"}),
    ],
)
def test_split_amount(
    total: str, weights: dict[object, int], places: int, expected: dict[object, str]
) -> None:
    parts = split_amount(D(total), {k: D(w) for k, w in weights.items()}, places)
    assert parts == {k: D(v) for k, v in expected.items()}
    assert sum(parts.values()) == D(total)


@pytest.mark.parametrize(
    ("total", "weights"),
    [
        ("1000000.00", ["1", "1", "1", "1", "1", "1", "1"]),
        ("99.99", ["0.1", "0.2", "0.3", "0.4"]),
        ("123456.78", ["3.3", "2.2", "1.1", "7", "0.01", "19"]),
        ("0.01", ["1", "1", "1", "1", "1"]),
        ("7.00", [str(i) for i in range(1, 40)]),
    ],
)
def test_split_amount_always_sums_exactly(total: str, weights: list[str]) -> None:
    parts = split_amount(D(total), {i: D(w) for i, w in enumerate(weights)})
    assert sum(parts.values()) == D(total)
    assert all(part >= 0 for part in parts.values())


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [
        ("10.00", {}, "no children"),
        ("10.00", {"a": "0", "b": "0"}, "sum to zero"),
        ("10.00", {"a": "1", "b": "-1"}, "weight of b is negative"),
        ("10.005", {"a": "1"}, "more than 2 decimal places"),
    ],
)
def test_split_amount_rejects(total: str, weights: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_amount(D(total), {k: D(v) for k, v in weights.items()})


def test_shares_even() -> None:
    assert shares_even(["a", "b", "c"]) == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize(
    ("actuals", "expected"),
    [
        ({"a": "300", "b": "100"}, {"a": "300", "b": "100"}),
        ({"a": "0", "b": "0"}, {"a": "1", "b": "1"}),  # nobody sold: split evenly
        ({"a": "100", "b": "-5"}, {"a": "100", "b": "0"}),  # net returns count as zero
        ({"a": "-1", "b": "-5"}, {"a": "1", "b": "1"}),
    ],
)
def test_shares_from_actuals(actuals: dict[str, str], expected: dict[str, str]) -> None:
    shares = shares_from_actuals({k: D(v) for k, v in actuals.items()})
    assert shares == {k: D(v) for k, v in expected.items()}


FLAT = {m: D(8) for m in range(1, 12)} | {12: D(12)}  # 88 + 12 = 100


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({m: D(10) for m in range(1, 11)}, "missing 11, 12"),
        (FLAT | {13: D(0)}, "unexpected 13"),
        ({m: D(8) for m in range(1, 12)} | {0: D(12)}, "missing 12; unexpected 0"),
        (FLAT | {3: D(-8), 4: D(24)}, "month 3 weight is negative"),
        (FLAT | {12: D("11.5")}, "sum to 99.5, not 100"),
        (FLAT | {12: D("12.01")}, "sum to 100.01, not 100"),
    ],
)
def test_validate_month_weights_names_the_problem(weights: dict[int, Decimal], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_month_weights(weights)


def test_validate_month_weights_accepts_a_valid_distribution() -> None:
    validate_month_weights(FLAT)
    validate_month_weights({m: D("8.3") for m in range(1, 12)} | {12: D("8.7")})


def test_month_weights_from_json_parses_floats_exactly() -> None:
    raw = {str(m): 8.1 for m in range(1, 11)} | {"11": 9.5, "12": 9.5}
    parsed = month_weights_from_json(raw)
    assert parsed[1] == D("8.1")
    assert sum(parsed.values()) == 100


@pytest.mark.parametrize(
    "raw",
    [
        {"x": 8} | {str(m): 8 for m in range(2, 13)},
        {str(m): "eight" for m in range(1, 13)},
        {str(m): 8 for m in range(1, 13)},  # sums to 96
    ],
)
def test_month_weights_from_json_rejects(raw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        month_weights_from_json(raw)


def test_split_year_by_seasonal_weights() -> None:
    months = split_year_into_months(D("1200.00"), 2026, FLAT)
    assert months == {m: D("96.00") for m in range(1, 12)} | {12: D("144.00")}


def test_split_year_by_working_days() -> None:
    months = split_year_into_months(D("2610.00"), 2026, None)  # 2026 has 261 working days
    for month, amount in months.items():
        first = date(2026, month, 1)
        assert amount == D(working_days(first, month_end(first)) * 10)
    assert sum(months.values()) == D("2610.00")


def test_split_year_rejects_bad_weights() -> None:
    with pytest.raises(ValueError, match="sum to 96"):
        split_year_into_months(D("1200.00"), 2026, {m: D(8) for m in range(1, 13)})


def test_split_period_into_quarters() -> None:
    parts = split_period(D("261.00"), date(2026, 1, 1), date(2026, 12, 31), "quarter")
    assert [(p.start, p.end) for p in parts] == [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 9, 30)),
        (date(2026, 10, 1), date(2026, 12, 31)),
    ]
    assert [p.amount for p in parts] == [D("64.00"), D("65.00"), D("66.00"), D("66.00")]


def test_split_period_into_months_clipped_to_the_period() -> None:
    parts = split_period(D("1000.00"), date(2026, 11, 16), date(2026, 12, 31), "month")
    assert [(p.start, p.end) for p in parts] == [
        (date(2026, 11, 16), date(2026, 11, 30)),
        (date(2026, 12, 1), date(2026, 12, 31)),
    ]
    # 11 working days in the November part, 23 in December.
    assert [p.amount for p in parts] == [D("323.53"), D("676.47")]


def test_split_period_into_iso_weeks() -> None:
    parts = split_period(D("2100.00"), date(2026, 11, 1), date(2026, 11, 30), "week")
    assert parts == [
        SubPeriod(date(2026, 11, 1), date(2026, 11, 1), D("0.00")),  # a lone Sunday
        SubPeriod(date(2026, 11, 2), date(2026, 11, 8), D("500.00")),
        SubPeriod(date(2026, 11, 9), date(2026, 11, 15), D("500.00")),
        SubPeriod(date(2026, 11, 16), date(2026, 11, 22), D("500.00")),
        SubPeriod(date(2026, 11, 23), date(2026, 11, 29), D("500.00")),
        SubPeriod(date(2026, 11, 30), date(2026, 11, 30), D("100.00")),  # a lone Monday
    ]


def test_split_period_by_seasonal_weights_and_holidays() -> None:
    weights = {1: D(10), 2: D(30), 3: D(20)} | {m: D(5) for m in range(4, 12)} | {12: D(0)}
    parts = split_period(D("6000.00"), date(2026, 1, 1), date(2026, 3, 31), "month", weights)
    assert [p.amount for p in parts] == [D("1000.00"), D("3000.00"), D("2000.00")]
    holidays = frozenset({date(2026, 11, 3), date(2026, 11, 4)})
    weeks = split_period(D("800.00"), date(2026, 11, 2), date(2026, 11, 15), "week", None, holidays)
    assert [w.amount for w in weeks] == [D("300.00"), D("500.00")]


def test_split_period_with_no_working_day_uses_calendar_days() -> None:
    parts = split_period(D("10.00"), date(2026, 11, 28), date(2026, 11, 29), "week")
    assert parts == [SubPeriod(date(2026, 11, 28), date(2026, 11, 29), D("10.00"))]


@pytest.mark.parametrize(
    ("start", "end", "granularity", "message"),
    [
        (date(2026, 2, 1), date(2026, 1, 1), "month", "after its end"),
        (date(2026, 1, 1), date(2026, 2, 1), "day", "granularity"),
    ],
)
def test_split_period_rejects(start: date, end: date, granularity: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split_period(D("1.00"), start, end, granularity)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "new", "ratio", "kind"),
    [
        ("100", "100", "0", "direct"),
        ("100", "115", "0.15", "direct"),  # the limit itself is allowed
        ("100", "85", "-0.15", "direct"),
        ("100", "115.01", "0.1501", "needs_approval"),
        ("100", "84.99", "-0.1501", "needs_approval"),
        ("1000", "1150.01", "0.15001", "needs_approval"),  # never rounded into "direct"
        ("0", "0", "0", "direct"),
        ("0", "10", None, "needs_approval"),  # from nothing: unbounded change
    ],
)
def test_adjustment_rule(old: str, new: str, ratio: str | None, kind: str) -> None:
    change = adjustment_ratio(D(old), D(new))
    assert change == (D(ratio) if ratio is not None else None)
    assert classify_adjustment(D(old), D(new)) == kind


def test_adjustment_limit_is_configurable() -> None:
    assert classify_adjustment(D(100), D(110), limit=D("0.05")) == "needs_approval"
