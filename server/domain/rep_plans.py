"""Rules of a rep's weekly plan: its states, who may move it, and what an item measures.

Pure: the service loads the plan and asks these functions; nothing here touches a session.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

STATUSES = ("draft", "submitted", "approved", "changes_requested")
METRICS = ("revenue", "visits", "new_customers", "orders", "custom")
MEASURED = ("revenue", "visits", "new_customers", "orders")  # achieved read from the actuals
# Where each action may start from, and where it leads.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "submit": (("draft", "changes_requested"), "submitted"),
    "approve": (("submitted",), "approved"),
    "request_changes": (("submitted",), "changes_requested"),
}
EDITABLE = ("draft", "changes_requested")  # the rep may change the plan's content


def week_of(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def next_status(action: str, status: str) -> str | None:
    """The status `action` leads to from `status`; None when the action is not allowed there."""
    sources, target = TRANSITIONS[action]
    return target if status in sources else None


def editable(status: str) -> bool:
    """Whether the rep may still change the plan's content (summary, items' substance)."""
    return status in EDITABLE


def achieved(metric: str, measured: Decimal | None, manual: Decimal | None) -> Decimal | None:
    """The item's achieved number: measured from the actuals, or entered by hand for custom."""
    return manual if metric == "custom" else (measured if measured is not None else Decimal(0))


def attainment(achieved_value: Decimal | None, target: Decimal | None) -> Decimal | None:
    """achieved / target at 4 places; None without both."""
    if achieved_value is None or not target:
        return None
    return (achieved_value / target).quantize(Decimal("0.0001"))


def target_problem(metric: str, target: Decimal | None) -> str | None:
    """Why a target does not fit its metric (counts are whole numbers, nothing is negative)."""
    if target is None:
        return None
    if target < 0:
        return "must not be negative"
    if metric in ("visits", "new_customers", "orders") and target != target.to_integral_value():
        return "must be a whole number for this metric"
    return None
