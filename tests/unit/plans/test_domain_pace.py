from datetime import date
from decimal import Decimal

import pytest

from server.domain.pace import PaceStatus, Thresholds, compute_progress, status_for_lag

NOV_1, NOV_30 = date(2026, 11, 1), date(2026, 11, 30)  # 21 working days
TARGET = Decimal("21000")  # 1,000 per working day
FRI_NOV_6 = date(2026, 11, 6)  # 5 working days elapsed: 5,000 expected


@pytest.mark.parametrize(
    ("actual", "pace", "lag", "status"),
    [
        ("5000", "1.0000", "0.0000", PaceStatus.GREEN),
        ("6000", "1.2000", "0.0000", PaceStatus.GREEN),  # ahead: lag never negative
        ("4501", "0.9002", "0.0998", PaceStatus.GREEN),
        ("4500", "0.9000", "0.1000", PaceStatus.YELLOW),  # each threshold opens its band
        ("4001", "0.8002", "0.1998", PaceStatus.YELLOW),
        ("4000", "0.8000", "0.2000", PaceStatus.ORANGE),
        ("3600", "0.7200", "0.2800", PaceStatus.ORANGE),
        ("3500", "0.7000", "0.3000", PaceStatus.RED),
        ("0", "0.0000", "1.0000", PaceStatus.RED),
    ],
)
def test_status_bands(actual: str, pace: str, lag: str, status: PaceStatus) -> None:
    progress = compute_progress(TARGET, Decimal(actual), NOV_1, NOV_30, FRI_NOV_6)
    assert progress.expected_to_date == Decimal("5000.00")
    assert progress.pace == Decimal(pace)
    assert progress.lag == Decimal(lag)
    assert progress.status is status
    assert progress.warnable


@pytest.mark.parametrize(
    ("as_of", "elapsed_days", "warnable", "status"),
    [
        (date(2026, 11, 2), 1, False, PaceStatus.NONE),
        (date(2026, 11, 3), 2, False, PaceStatus.NONE),
        (date(2026, 11, 4), 3, True, PaceStatus.RED),  # third working day: warnings allowed
    ],
)
def test_no_warning_before_three_working_days(
    as_of: date, elapsed_days: int, warnable: bool, status: PaceStatus
) -> None:
    progress = compute_progress(TARGET, Decimal(0), NOV_1, NOV_30, as_of)
    assert progress.working_days_elapsed == elapsed_days
    assert progress.warnable is warnable
    assert progress.status is status


def test_before_anything_is_expected() -> None:
    progress = compute_progress(TARGET, Decimal(0), NOV_1, NOV_30, date(2026, 10, 20))
    assert progress.expected_to_date == Decimal("0.00")
    assert progress.elapsed_fraction == Decimal("0.0000")
    assert (progress.pace, progress.lag, progress.projection) == (None, None, None)
    assert progress.status is PaceStatus.NONE
    assert progress.working_days_left == 21
    assert progress.required_daily_run_rate == Decimal("1000.00")


def test_mid_period_projection_gap_and_run_rate() -> None:
    progress = compute_progress(TARGET, Decimal("4000"), NOV_1, NOV_30, FRI_NOV_6)
    assert progress.elapsed_fraction == Decimal("0.2381")  # 5/21
    assert progress.projection == Decimal("16800.00")  # 4000 / (5/21)
    assert progress.attainment == Decimal("0.1905")
    assert progress.remaining_gap == Decimal("17000.00")
    assert (progress.working_days_total, progress.working_days_left) == (21, 16)
    assert progress.required_daily_run_rate == Decimal("1062.50")  # 17000 / 16


@pytest.mark.parametrize("as_of", [NOV_30, date(2026, 12, 10)])
def test_at_and_after_period_end(as_of: date) -> None:
    progress = compute_progress(TARGET, Decimal("19000"), NOV_1, NOV_30, as_of)
    assert progress.elapsed_fraction == Decimal("1.0000")
    assert progress.expected_to_date == Decimal("21000.00")
    assert progress.projection == Decimal("19000.00")
    assert progress.working_days_left == 0
    assert progress.required_daily_run_rate is None
    assert progress.remaining_gap == Decimal("2000.00")


def test_target_exceeded_has_no_gap() -> None:
    progress = compute_progress(TARGET, Decimal("25000"), NOV_1, NOV_30, FRI_NOV_6)
    assert progress.remaining_gap == Decimal("0.00")
    assert progress.required_daily_run_rate == Decimal("0.00")


def test_money_and_ratios_are_quantized() -> None:
    progress = compute_progress(Decimal("1000"), Decimal("50"), NOV_1, NOV_30, date(2026, 11, 2))
    assert progress.expected_to_date == Decimal("47.62")  # 1000/21
    assert progress.pace == Decimal("1.0500")
    assert progress.projection == Decimal("1050.00")


def test_zero_target_is_never_warned_about() -> None:
    progress = compute_progress(Decimal(0), Decimal(0), NOV_1, NOV_30, FRI_NOV_6)
    assert (progress.pace, progress.attainment) == (None, None)
    assert progress.status is PaceStatus.NONE


def test_holidays_and_seasonal_weights_shape_expectation() -> None:
    with_holiday = compute_progress(
        Decimal("20000"), Decimal(0), NOV_1, NOV_30, FRI_NOV_6, frozenset({date(2026, 11, 11)})
    )
    assert with_holiday.expected_to_date == Decimal("5000.00")  # 5 of 20 working days
    seasonal = compute_progress(
        Decimal("40000"),
        Decimal("10000"),
        date(2026, 1, 1),
        date(2026, 2, 28),
        date(2026, 1, 31),
        month_weights={1: Decimal(10), 2: Decimal(30)},
    )
    assert seasonal.expected_to_date == Decimal("10000.00")
    assert seasonal.status is PaceStatus.GREEN


def test_custom_thresholds() -> None:
    strict = Thresholds(
        yellow=Decimal("0.05"), orange=Decimal("0.10"), red=Decimal("0.15"), min_working_days=0
    )
    progress = compute_progress(TARGET, Decimal("4500"), NOV_1, NOV_30, FRI_NOV_6, thresholds=strict)
    assert progress.status is PaceStatus.ORANGE
    early = compute_progress(TARGET, Decimal(0), NOV_1, NOV_30, date(2026, 11, 2), thresholds=strict)
    assert early.status is PaceStatus.RED


@pytest.mark.parametrize(
    ("lag", "status"),
    [
        ("0", PaceStatus.GREEN),
        ("0.0999", PaceStatus.GREEN),
        ("0.10", PaceStatus.YELLOW),
        ("0.1999", PaceStatus.YELLOW),
        ("0.20", PaceStatus.ORANGE),
        ("0.2999", PaceStatus.ORANGE),
        ("0.30", PaceStatus.RED),
        ("1", PaceStatus.RED),
    ],
)
def test_status_for_lag(lag: str, status: PaceStatus) -> None:
    assert status_for_lag(Decimal(lag)) is status


@pytest.mark.parametrize(
    "kwargs",
    [
        {"yellow": Decimal("0.3"), "orange": Decimal("0.2")},
        {"yellow": Decimal(0)},
        {"min_working_days": -1},
    ],
)
def test_invalid_thresholds(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Thresholds(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "actual", "start", "end", "as_of", "expected", "pace", "status", "gap", "run_rate", "days"),
    [
        # zero target: nothing expected, nothing to judge, no gap
        ("0", "500", NOV_1, NOV_30, FRI_NOV_6, "0.00", None, PaceStatus.NONE, "0.00", "0.00", 21),
        # a negative target (legacy data, a net-returns plan): defined, never an error
        ("-10", "0", NOV_1, NOV_30, FRI_NOV_6, "-2.38", None, PaceStatus.NONE, "0.00", "0.00", 21),
        # a weekend-only period: no working day at all -> calendar days, no run-rate left
        ("6", "1", date(2026, 11, 7), date(2026, 11, 8), date(2026, 11, 8), "6.00", "0.1667",
         PaceStatus.NONE, "5.00", None, 0),
        # a counted metric (visits) mid-month: whole numbers in, money-shaped figures out
        ("21", "4", NOV_1, NOV_30, FRI_NOV_6, "5.00", "0.8000", PaceStatus.ORANGE, "17.00", "1.06", 21),
    ],
)  # fmt: skip
def test_every_stored_target_has_a_defined_answer(
    amount: str,
    actual: str,
    start: date,
    end: date,
    as_of: date,
    expected: str,
    pace: str | None,
    status: PaceStatus,
    gap: str,
    run_rate: str | None,
    days: int,
) -> None:
    progress = compute_progress(Decimal(amount), Decimal(actual), start, end, as_of)
    assert progress.expected_to_date == Decimal(expected)
    assert progress.pace == (Decimal(pace) if pace else None)
    assert progress.status == status
    assert progress.remaining_gap == Decimal(gap)
    assert progress.required_daily_run_rate == (Decimal(run_rate) if run_rate else None)
    assert progress.working_days_total == days
    if Decimal(amount) <= 0:
        assert progress.attainment is None
