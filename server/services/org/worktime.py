"""Each unit's working calendar: its holidays (own and inherited) and its company's working hours.

Loaded once per sweep for every unit it needs (two queries), then asked per rep or unit in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from server.core.org import OrgTree, company_settings
from server.domain.worktime import (
    DEFAULT_WORK_END,
    DEFAULT_WORK_START,
    in_working_hours,
    pace_as_of,
    parse_hhmm,
    previous_working_day,
    zone,
)
from server.services.plans.calendar import load_holidays

# Holidays are loaded for this many days around now: enough to walk back over a long holiday
# (the previous working day) and forward over an escalation's 72 business hours.
LOOK_BACK = timedelta(days=45)
LOOK_AHEAD = timedelta(days=45)


@dataclass
class WorkCalendar:
    tree: OrgTree
    holidays_by_unit: dict[UUID, frozenset[date]]
    hours_by_company: dict[UUID, tuple[time, time]]

    @classmethod
    async def load(
        cls, session: AsyncSession, tree: OrgTree, unit_ids: Iterable[UUID | None], around: datetime
    ) -> WorkCalendar:
        units = {u for u in unit_ids if u is not None and u in tree.units}
        start, end = (around - LOOK_BACK).date(), (around + LOOK_AHEAD).date()
        holidays = await load_holidays(session, tree, units, start, end)
        settings = await company_settings(session, {tree.company_of(u) for u in units})
        hours = {
            company: (
                parse_hhmm(row.work_start, DEFAULT_WORK_START),
                parse_hhmm(row.work_end, DEFAULT_WORK_END),
            )
            for company, row in settings.items()
        }
        return cls(tree, holidays, hours)

    def holidays(self, unit_id: UUID | None) -> frozenset[date]:
        return self.holidays_by_unit.get(unit_id, frozenset()) if unit_id else frozenset()

    def hours(self, unit_id: UUID | None) -> tuple[time, time]:
        company = self.tree.company_of(unit_id)
        return (
            self.hours_by_company.get(company, (DEFAULT_WORK_START, DEFAULT_WORK_END))
            if company
            else (
                DEFAULT_WORK_START,
                DEFAULT_WORK_END,
            )
        )

    def local_now(self, now: datetime, timezone: str | None) -> datetime:
        return now.astimezone(zone(timezone))

    def is_working_time(self, now: datetime, unit_id: UUID | None, timezone: str | None) -> bool:
        start, end = self.hours(unit_id)
        return in_working_hours(self.local_now(now, timezone), self.holidays(unit_id), start, end)

    def pace_as_of(self, now: datetime, unit_id: UUID | None, timezone: str | None) -> date:
        return pace_as_of(self.local_now(now, timezone), self.holidays(unit_id), self.hours(unit_id)[1])

    def previous_working_day(self, day: date, unit_id: UUID | None) -> date:
        return previous_working_day(day, self.holidays(unit_id))
