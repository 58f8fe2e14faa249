"""The plan side of the reviews: approved month targets read at a few dates through
ProgressService (expected-to-date, pace and attainment as of any day), one for_scopes per date.
ProgressService counts actuals up to the date asked for, so a past day shows its past.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from server.core.services import Services
from server.domain.calendar import month_chunks, month_start
from server.domain.numbers import ratio
from server.services.plans.progress import ProgressService, ScopeProgress

ZERO = Decimal(0)


@dataclass(frozen=True)
class MonthPace:
    """Month-to-date revenue against the month target, counting orders booked by `day`."""

    target: Decimal
    actual: Decimal
    expected: Decimal
    pace: Decimal | None
    status: str  # a PaceStatus value
    attainment: Decimal | None


class PlanBook:
    """Approved month targets of many scopes, read at a few dates (one for_scopes per date)."""

    def __init__(self, services: Services, scope: str, ids: Sequence[UUID]) -> None:
        self.progress = services.get(ProgressService)
        self.scope, self.ids = scope, list(ids)
        self._at: dict[date, dict[UUID, ScopeProgress]] = {}

    async def at(self, day: date) -> dict[UUID, ScopeProgress]:
        if day not in self._at:
            self._at[day] = await self.progress.for_scopes(self.scope, self.ids, day, "revenue", "month")
        return self._at[day]

    async def expected_between(self, start: date, end: date) -> dict[UUID, Decimal]:
        """The plan's share of [start, end]: expected by `end` less expected before `start`."""
        plan: dict[UUID, Decimal] = defaultdict(Decimal)
        for chunk_start, chunk_end in month_chunks(start, end):
            upto = await self.at(chunk_end)
            before = (
                {} if chunk_start == month_start(chunk_start) else await self.at(chunk_start - timedelta(1))
            )
            for scope_id, item in upto.items():
                earlier = before.get(scope_id)
                same_target = earlier is not None and earlier.target_id == item.target_id
                plan[scope_id] += item.progress.expected_to_date - (
                    earlier.progress.expected_to_date if same_target else ZERO  # type: ignore[union-attr]
                )
        return dict(plan)

    async def pace_on(self, day: date) -> dict[UUID, MonthPace]:
        """Month pace as of `day`; ProgressService counts only what was booked by then."""
        return {
            scope_id: MonthPace(
                item.target,
                item.actual,
                item.progress.expected_to_date,
                item.progress.pace,
                item.progress.status.value,
                item.progress.attainment,
            )
            for scope_id, item in (await self.at(day)).items()
        }


def attainment(actual: Decimal, plan: Decimal | None) -> Decimal | None:
    """actual / plan at 4 places; None without a plan to measure against."""
    return ratio(actual / plan) if plan else None
