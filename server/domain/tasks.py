"""Task status rules: which changes are allowed, skip reasons, and reading a snooze value.

Pure functions; the tasks service applies them. A rule broken by the request names its field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

SKIP_REASONS = ("customer_closed", "not_needed", "no_time", "rescheduled", "other")
SETTABLE_STATUSES = ("planned", "done", "skipped", "snoozed")  # "missed" is the system's word
# status now -> statuses a person may set. Done by hand can be undone; missed can still be
# recorded as done or skipped (an offline phone syncing after the day closed).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "planned": ("planned", "done", "skipped", "snoozed"),
    "snoozed": ("planned", "done", "skipped", "snoozed"),
    "done": ("done", "planned"),
    "skipped": ("skipped", "planned"),
    "missed": ("missed", "done", "skipped"),
}
_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}$")


class TaskRuleError(ValueError):
    """A request breaks a task rule; `field` is the offending field, `conflict` means 409."""

    def __init__(self, field: str, message: str, conflict: bool = False) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.conflict = field, message, conflict


@dataclass(frozen=True)
class TaskChange:
    status: str | None = None
    reason: str | None = None
    note: str | None = None
    snooze_until: str | None = None


def parse_snooze(value: str, tz: str, now: datetime) -> datetime | date:
    """ "HH:MM" (the rep's local time today), "YYYY-MM-DD" (move to that date) or an ISO instant
    (naive means the rep's local time). Returns an aware UTC datetime or a date."""
    text = value.strip()
    zone = ZoneInfo(tz)
    try:
        if _TIME_OF_DAY.match(text):
            at = time.fromisoformat(text.zfill(5))
            return datetime.combine(now.astimezone(zone).date(), at, zone).astimezone(UTC)
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TaskRuleError(
            "snooze_until", "must be a time (HH:MM), a date (YYYY-MM-DD) or an ISO 8601 instant"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


def check_change(
    current: str,
    change: TaskChange,
    *,
    task_day: date,
    today: date,
    done_by_checkin: bool,
    moved: bool,
) -> str:
    """Validate a change against the task's state; returns the status to set."""
    status = change.status or current
    if change.status is not None and change.status not in SETTABLE_STATUSES:
        raise TaskRuleError("status", f"must be one of: {', '.join(SETTABLE_STATUSES)}")
    if change.reason is not None and change.reason not in SKIP_REASONS:
        raise TaskRuleError("reason", f"must be one of: {', '.join(SKIP_REASONS)}")
    if change.reason is not None and status != "skipped":
        raise TaskRuleError("reason", "only applies when skipping a task")
    if status == "skipped" and change.reason is None and current != "skipped":
        raise TaskRuleError("reason", "is required to skip a task")
    if status == "skipped" and change.reason == "other" and not change.note:
        raise TaskRuleError("note", "is required when the reason is other")
    if change.status == "snoozed" and not change.snooze_until:
        raise TaskRuleError("snooze_until", "is required to snooze a task")
    if change.snooze_until and status != "snoozed":
        raise TaskRuleError("snooze_until", "only applies when snoozing a task")
    if moved:
        raise TaskRuleError("status", "the task was moved to another day; change it there", conflict=True)
    if status not in TRANSITIONS[current]:
        raise TaskRuleError("status", f"cannot change a {current} task to {status}", conflict=True)
    if status == "planned" and current != "planned" and task_day < today:
        raise TaskRuleError("status", "the task's day is over", conflict=True)
    if current == "done" and status != "done" and done_by_checkin:
        raise TaskRuleError("status", "the task was completed by a check-in", conflict=True)
    return status
