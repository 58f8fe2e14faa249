"""Visit policy: how often each grade is visited and how overdue a customer is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from types import MappingProxyType

# Keyed by the grade letter as stored on customers (a plain str column).
DEFAULT_VISIT_INTERVALS: Mapping[str, int] = MappingProxyType({"A": 7, "B": 14, "C": 30, "D": 60})

# A never-visited customer counts as this overdue: as urgent as the scoring cap (3x the
# interval) allows, so new accounts get a first visit, but no more urgent than a long-lost A.
NEVER_VISITED_OVERDUE = 3.0


def overdue_ratio(days_since_last_visit: int | None, interval_days: int) -> float:
    """Days since the last completed visit / interval (1.0 = due today); never visited = 3.0."""
    if interval_days <= 0:
        raise ValueError("visit interval must be at least 1 day")
    if days_since_last_visit is None:
        return NEVER_VISITED_OVERDUE
    # A visit recorded "in the future" (device clock skew) counts as just visited.
    return max(0, days_since_last_visit) / interval_days


def next_due(last_visit_date: date | None, interval_days: int, today: date) -> date:
    """Date the next visit is due: last visit + interval (may be in the past), or today if never."""
    if interval_days <= 0:
        raise ValueError("visit interval must be at least 1 day")
    if last_visit_date is None:
        return today
    return last_visit_date + timedelta(days=interval_days)
