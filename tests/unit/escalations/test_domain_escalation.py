from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from server.domain.escalation import (
    Level,
    Severity,
    dedup_key,
    forecast_miss_start,
    level_for_severity,
    overdue_reminder_stage,
    projected_to_miss,
    resolution_step,
    severity_for_status,
    team_level_for_severity,
    time_climb,
)
from server.domain.pace import PaceStatus

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("status", "severity"),
    [
        (PaceStatus.GREEN, None),
        (PaceStatus.NONE, None),
        (PaceStatus.YELLOW, Severity.YELLOW),
        (PaceStatus.ORANGE, Severity.ORANGE),
        (PaceStatus.RED, Severity.RED),
    ],
)
def test_severity_for_status(status: PaceStatus, severity: Severity | None) -> None:
    assert severity_for_status(status) == severity


@pytest.mark.parametrize(
    ("severity", "rep_level", "team_level"),
    [
        (Severity.YELLOW, Level.REP, None),
        (Severity.ORANGE, Level.MANAGER, Level.MANAGER),
        (Severity.RED, Level.EXECUTIVE, Level.EXECUTIVE),
    ],
)
def test_levels_for_severity(severity: Severity, rep_level: Level, team_level: Level | None) -> None:
    assert level_for_severity(severity) == rep_level
    assert team_level_for_severity(severity) == team_level


@pytest.mark.parametrize(
    ("level", "waited", "acknowledged", "expected"),
    [
        (1, 0 * H, False, 1),
        (1, 23 * H + timedelta(minutes=59), False, 1),
        (1, 24 * H, False, 2),
        (1, 47 * H, False, 2),
        (1, 48 * H, False, 3),
        (1, 50 * H, False, 3),  # a missed sweep catches up two levels at once
        (1, 500 * H, False, 3),  # never above the executive
        (2, 24 * H, False, 3),
        (3, 24 * H, False, 3),
        (1, 100 * H, True, 1),  # acknowledged: no time climb
        (2, -5 * H, False, 2),  # clock behind the reference time
    ],
)
def test_time_climb(level: int, waited: timedelta, acknowledged: bool, expected: int) -> None:
    assert time_climb(level, T0, acknowledged, T0 + waited) == expected


def test_time_climb_custom_steps() -> None:
    steps = (2 * H, 6 * H)
    assert time_climb(1, T0, False, T0 + 3 * H, steps) == Level.MANAGER
    assert time_climb(1, T0, False, T0 + 6 * H, steps) == Level.EXECUTIVE


@pytest.mark.parametrize(
    ("count", "clear", "required", "expected"),
    [
        (0, True, 2, (1, False)),  # one clear sweep is not enough
        (1, True, 2, (2, True)),
        (1, False, 2, (0, False)),  # flapping resets the count
        (5, False, 2, (0, False)),
        (1, True, 3, (2, False)),
        (2, True, 3, (3, True)),
        (0, True, 1, (1, True)),
    ],
)
def test_resolution_step(count: int, clear: bool, required: int, expected: tuple[int, bool]) -> None:
    assert resolution_step(count, clear, required) == expected


def test_dedup_key() -> None:
    key = dedup_key("pace_revenue", "user", "7f1c", "2026-11")
    assert key == "pace_revenue:user:7f1c:2026-11"
    assert key != dedup_key("pace_revenue", "user", "7f1c", "2026-12")


@pytest.mark.parametrize(
    "parts",
    [("", "user", "1", "2026-11"), ("pace", "user", "1", "2026:11"), ("a:b", "u", "1", "p")],
)
def test_dedup_key_rejects_ambiguous_parts(parts: tuple[str, str, str, str]) -> None:
    with pytest.raises(ValueError, match="dedup key"):
        dedup_key(*parts)


DUE = T0


@pytest.mark.parametrize(
    ("last_update", "now", "sent", "last_reminded", "stage"),
    [
        (None, DUE - H, 0, None, 0),  # not due yet
        (None, DUE, 0, None, 1),
        (DUE - 2 * H, DUE + H, 0, None, 1),  # updated only before it fell due: untouched
        (DUE + H, DUE + 2 * H, 0, None, 0),  # touched after due: no reminder
        (None, DUE + 3 * H, 1, None, 0),  # second window (4 h) not over
        (None, DUE + 4 * H, 1, None, 2),
        (None, DUE + 4 * H, 1, DUE + H, 0),  # window counts from the first reminder
        (None, DUE + 5 * H, 1, DUE + H, 2),
        (DUE + 2 * H, DUE + 6 * H, 1, DUE, 0),  # rep reacted to the first reminder
        (None, DUE + 48 * H, 2, DUE, 0),  # both reminders sent
    ],
)
def test_overdue_reminder_stage(
    last_update: datetime | None,
    now: datetime,
    sent: int,
    last_reminded: datetime | None,
    stage: int,
) -> None:
    assert overdue_reminder_stage(DUE, last_update, now, sent, last_reminded_at=last_reminded) == stage


def test_second_window_is_configurable() -> None:
    assert overdue_reminder_stage(DUE, None, DUE + H, 1, second_window=H) == 2


@pytest.mark.parametrize(
    ("high", "plan", "miss"),
    [
        (Decimal("99.99"), Decimal("100"), True),
        (Decimal("100"), Decimal("100"), False),  # the top of the range reaches the plan
        (Decimal("5"), None, False),  # no approved plan: nothing to miss
        (Decimal("0"), Decimal("0"), False),  # a zero plan is never missed
    ],
)
def test_projected_to_miss_is_the_upper_bound_below_plan(
    high: Decimal, plan: Decimal | None, miss: bool
) -> None:
    assert projected_to_miss(high, plan) is miss


def test_forecast_miss_starts_at_the_subjects_first_rung() -> None:
    assert forecast_miss_start("user") == (Severity.ORANGE, Level.REP)
    assert forecast_miss_start("org_unit") == (Severity.ORANGE, Level.MANAGER)
