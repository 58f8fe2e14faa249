"""Holiday calendars of org units: import a country's public holidays, add or remove single days.

A unit's non-working days are its own plus every ancestor's (server.services.plans.calendar
.load_holidays), which pace, planning and reminders all read.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import delete, insert, select

from server.core.audit import AuditService
from server.core.errors import field_error
from server.core.i18n import gettext as _
from server.core.services import Service
from server.db.models import Holiday, OrgUnit

MIN_YEAR, MAX_YEAR = 2000, 2100


def public_holidays(
    country: str, subdivision: str | None, year: int, language: str | None = None
) -> dict[date, str]:
    """The `holidays` package's public holidays of one country (and subdivision) in one year."""
    import holidays  # loaded lazily: only this import needs it

    country = (country or "").strip().upper()
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise field_error(
            "country", _("%(country)s is not a supported ISO 3166 country code", country=repr(country))
        )
    if subdivision and subdivision not in supported[country]:
        raise field_error(
            "subdivision",
            _(
                "%(subdivision)s is not a subdivision of %(country)s",
                subdivision=repr(subdivision),
                country=country,
            ),
        )
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise field_error("year", _("must be between %(low)s and %(high)s", low=MIN_YEAR, high=MAX_YEAR))
    calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=year, language=language)
    return {day: str(name)[:200] for day, name in sorted(calendar.items())}


class CalendarsService(Service):
    async def days(self, unit_id: UUID, year: int) -> list[Holiday]:
        """The unit's own holidays of a year (inherited ones are listed by `inherited`)."""
        query = select(Holiday).where(
            Holiday.org_unit_id == unit_id, Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31)
        )
        return list((await self.session.scalars(query.order_by(Holiday.day))).all())

    async def inherited(self, unit: OrgUnit, year: int) -> list[tuple[Holiday, str]]:
        """Holidays the unit inherits from its ancestors, with the ancestor's name."""
        found: list[tuple[Holiday, str]] = []
        parent_id = unit.parent_id
        while parent_id is not None:
            parent = await self.session.get(OrgUnit, parent_id)
            if parent is None:
                break
            found += [(h, parent.name) for h in await self.days(parent.id, year)]
            parent_id = parent.parent_id
        return sorted(found, key=lambda pair: pair[0].day)

    async def import_public(
        self, actor_id: UUID | None, unit: OrgUnit, country: str, subdivision: str | None, year: int,
        language: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Fill the unit's calendar for `year`; days already there are kept (idempotent)."""
        found = public_holidays(country, subdivision, year, language)
        have = set(
            await self.session.scalars(
                select(Holiday.day).where(Holiday.org_unit_id == unit.id, Holiday.day.in_(list(found)))
            )
        )
        rows = [
            {"id": uuid4(), "org_unit_id": unit.id, "day": day, "name": name}
            for day, name in found.items()
            if day not in have
        ]
        if rows:
            await self.session.execute(insert(Holiday), rows)
        added = len(rows)
        summary = {"country": country.upper(), "subdivision": subdivision, "year": year,
                   "holidays": len(found), "added": added}  # fmt: skip
        await self.ctx.get(AuditService).record(
            actor_id, "holidays.imported", "org_unit", unit.id, after=summary
        )
        return summary

    async def add_day(self, actor_id: UUID | None, unit: OrgUnit, day: date, name: str) -> Holiday:
        if not name.strip():
            raise field_error("name", _("is required"))
        existing = await self.session.scalar(
            select(Holiday).where(Holiday.org_unit_id == unit.id, Holiday.day == day)
        )
        if existing is not None:
            raise field_error("day", _("%(day)s is already a holiday of this unit", day=day.isoformat()), 409)
        holiday = Holiday(org_unit_id=unit.id, day=day, name=name.strip()[:200])
        self.session.add(holiday)
        await self.session.flush()
        await self.ctx.get(AuditService).record(
            actor_id, "holiday.added", "org_unit", unit.id, after={"day": day, "name": holiday.name}
        )
        return holiday

    async def remove_day(self, actor_id: UUID | None, unit: OrgUnit, day: date) -> None:
        removed = await self.session.execute(
            delete(Holiday).where(Holiday.org_unit_id == unit.id, Holiday.day == day)
        )
        if not removed.rowcount:  # type: ignore[attr-defined]
            raise field_error("day", _("%(day)s is not a holiday of this unit", day=day.isoformat()), 404)
        await self.ctx.get(AuditService).record(
            actor_id, "holiday.removed", "org_unit", unit.id, before={"day": day}
        )
