"""The escalation ladder: who hears about a problem, when it climbs, when it clears.

Levels are relative to the subject: for a rep, 1 = the rep, 2 = their manager, 3 = the
executive. For a team, level 2 = the manager above the team's manager (the parent unit's
manager) and level 3 = the executive; the service resolves levels to people.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Literal

from server.domain.pace import PaceStatus


class Severity(StrEnum):
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


class Level(IntEnum):
    REP = 1
    MANAGER = 2
    EXECUTIVE = 3


# Cumulative unacknowledged time after which an escalation has climbed 1, 2, 3 levels.
CLIMB_STEPS = (timedelta(hours=24), timedelta(hours=48), timedelta(hours=72))
SECOND_REMINDER_WINDOW = timedelta(hours=4)

_LEVEL_BY_SEVERITY = {
    Severity.YELLOW: Level.REP,
    Severity.ORANGE: Level.MANAGER,
    Severity.RED: Level.EXECUTIVE,
}


def severity_for_status(status: PaceStatus) -> Severity | None:
    """Pace status -> escalation severity; green and not-yet-warnable raise nothing."""
    return {
        PaceStatus.YELLOW: Severity.YELLOW,
        PaceStatus.ORANGE: Severity.ORANGE,
        PaceStatus.RED: Severity.RED,
    }.get(status)


def level_for_severity(severity: Severity) -> Level:
    """Rep pace: yellow -> rep, orange -> manager, red -> executive."""
    return _LEVEL_BY_SEVERITY[severity]


def team_level_for_severity(severity: Severity) -> Level | None:
    """Team pace: orange -> level 2 (parent unit's manager), red -> 3; yellow raises nothing,
    since the team's manager already sees each rep's own yellow warnings."""
    if severity is Severity.YELLOW:
        return None
    return _LEVEL_BY_SEVERITY[severity]


FORECAST_MISS = "forecast_miss"


def projected_to_miss(high: Decimal, plan: Decimal | None) -> bool:
    """Even the top of the 80% forecast range is below a (positive) plan."""
    return plan is not None and plan > 0 and high < plan


def forecast_miss_start(subject_type: str) -> tuple[Severity, Level]:
    """Where a "projected to miss" escalation starts: orange (the forecast says the plan is out of
    reach with about 90% confidence). A rep hears it first (level 1) and it climbs to the manager
    and the executive like pace; a unit's starts one rung up (level 2), as a team's pace does."""
    return Severity.ORANGE, Level.REP if subject_type == "user" else Level.MANAGER


def time_climb(
    level: int,
    opened_or_level_changed_at: datetime,
    acknowledged: bool,
    now: datetime,
    steps: tuple[timedelta, ...] = CLIMB_STEPS,
) -> Level:
    """The level an escalation should be at now, given its level at the reference time.

    One level per step passed unacknowledged, up to the executive. Counting from the reference
    time (not from the last sweep) means a missed sweep catches up in one go.
    """
    if acknowledged:
        return Level(level)
    waited = now - opened_or_level_changed_at
    climbs = sum(1 for step in steps if waited >= step)
    return Level(min(Level.EXECUTIVE, level + climbs))


def resolution_step(clear_count: int, condition_clear: bool, required: int = 2) -> tuple[int, bool]:
    """Advance the consecutive-clear counter; resolve after `required` clear sweeps in a row.

    A sweep where the condition is back resets the count, so a flapping metric never resolves.
    """
    if not condition_clear:
        return 0, False
    count = clear_count + 1
    return count, count >= required


def dedup_key(rule: str, subject_type: str, subject_id: object, period_key: str) -> str:
    """The one-open-escalation-per key: rule:subject_type:subject_id:period_key."""
    parts = [rule, subject_type, str(subject_id), period_key]
    if any(not part or ":" in part for part in parts):
        raise ValueError("dedup key parts must be non-empty and contain no ':'")
    return ":".join(parts)


def overdue_reminder_stage(
    due_at: datetime,
    last_update_at: datetime | None,
    now: datetime,
    reminders_sent: int,
    second_window: timedelta = SECOND_REMINDER_WINDOW,
    last_reminded_at: datetime | None = None,
) -> Literal[0, 1, 2]:
    """Which reminder is due now for a planned task: 0 none, 1 to the rep, 2 rep + manager.

    `last_update_at` is the rep's last change to the task (status, note), not reminder
    bookkeeping: a task touched after it fell due gets no more reminders. The second reminder
    waits `second_window` after the first (after `due_at` when that time is unknown).
    """
    if now < due_at or reminders_sent >= 2:
        return 0
    if last_update_at is not None and last_update_at > due_at:
        return 0
    if reminders_sent == 0:
        return 1
    window_start = last_reminded_at or due_at
    return 2 if now >= window_start + second_window else 0
