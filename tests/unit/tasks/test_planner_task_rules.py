"""Task status rules (server.domain.tasks): allowed changes, reasons, snooze values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from server.domain.tasks import TaskChange, TaskRuleError, check_change, parse_snooze

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
TODAY = date(2026, 11, 18)


def check(
    current: str, day: date = TODAY, by_checkin: bool = False, moved: bool = False, **change: str
) -> str:
    return check_change(
        current, TaskChange(**change), task_day=day, today=TODAY, done_by_checkin=by_checkin, moved=moved
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15:30", datetime(2026, 11, 18, 7, 30, tzinfo=UTC)),
        ("9:05", datetime(2026, 11, 18, 1, 5, tzinfo=UTC)),
        ("2026-11-20", date(2026, 11, 20)),
        ("2026-11-18T16:00:00", datetime(2026, 11, 18, 8, 0, tzinfo=UTC)),  # naive = local
        ("2026-11-18T08:00:00Z", datetime(2026, 11, 18, 8, 0, tzinfo=UTC)),
    ],
)
def test_parse_snooze(value: str, expected: object) -> None:
    assert parse_snooze(value, "Asia/Shanghai", NOW) == expected


@pytest.mark.parametrize("value", ["soon", "25:00", "2026-13-01", "18/11/2026"])
def test_parse_snooze_rejects(value: str) -> None:
    with pytest.raises(TaskRuleError) as raised:
        parse_snooze(value, "Asia/Shanghai", NOW)
    assert raised.value.field == "snooze_until"


@pytest.mark.parametrize(
    ("current", "change", "expected"),
    [
        ("planned", {"status": "done"}, "done"),
        ("planned", {"status": "skipped", "reason": "no_time"}, "skipped"),
        ("planned", {"status": "skipped", "reason": "other", "note": "flat tyre"}, "skipped"),
        ("planned", {"status": "snoozed", "snooze_until": "15:00"}, "snoozed"),
        ("snoozed", {"status": "done"}, "done"),
        ("done", {"status": "planned"}, "planned"),
        ("skipped", {"status": "planned"}, "planned"),
        ("skipped", {"note": "called instead"}, "skipped"),
        ("missed", {"status": "done"}, "done"),
        ("snoozed", {"note": "gate was locked"}, "snoozed"),
    ],
)
def test_allowed_changes(current: str, change: dict[str, str], expected: str) -> None:
    assert check(current, **change) == expected


@pytest.mark.parametrize(
    ("current", "change", "field", "conflict"),
    [
        ("planned", {"status": "missed"}, "status", False),
        ("planned", {"status": "skipped"}, "reason", False),
        ("planned", {"status": "skipped", "reason": "weather"}, "reason", False),
        ("planned", {"status": "skipped", "reason": "other"}, "note", False),
        ("planned", {"status": "done", "reason": "no_time"}, "reason", False),
        ("planned", {"status": "snoozed"}, "snooze_until", False),
        ("planned", {"status": "done", "snooze_until": "15:00"}, "snooze_until", False),
        ("done", {"status": "skipped", "reason": "no_time"}, "status", True),
        ("skipped", {"status": "snoozed", "snooze_until": "15:00"}, "status", True),
        ("missed", {"status": "planned"}, "status", True),
    ],
)
def test_rejected_changes_name_the_field(
    current: str, change: dict[str, str], field: str, conflict: bool
) -> None:
    with pytest.raises(TaskRuleError) as raised:
        check(current, **change)
    assert (raised.value.field, raised.value.conflict) == (field, conflict)


def test_done_by_a_checkin_cannot_be_undone_by_hand() -> None:
    with pytest.raises(TaskRuleError, match="check-in"):
        check("done", by_checkin=True, status="planned")


def test_a_past_day_cannot_be_reopened_and_a_moved_task_is_changed_where_it_went() -> None:
    with pytest.raises(TaskRuleError, match="day is over"):
        check("skipped", day=date(2026, 11, 17), status="planned")
    with pytest.raises(TaskRuleError, match="moved"):
        check("snoozed", moved=True, status="done")
