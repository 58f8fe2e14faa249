"""Org units and their holiday calendars: `GET|POST /api/v1/org-units`,
`PATCH|DELETE /api/v1/org-units/{id}`, `POST /api/v1/holidays/import`, single holiday days."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from server.core.access import Principal
from server.core.deps import require_role
from server.core.services import Services
from server.services.admin.calendars import CalendarsService
from server.services.admin.org_units import OrgUnitsService


class OrgUnitOut(msgspec.Struct):
    id: UUID
    parent_id: UUID | None
    name: str
    kind: str
    timezone: str
    manager_user_id: UUID | None
    external_ref: str | None


class OrgUnitCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    kind: Literal["company", "region", "team"]
    parent_id: UUID | None = None
    timezone: str | None = None
    manager_user_id: UUID | None = None


class OrgUnitPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    parent_id: UUID | msgspec.UnsetType = msgspec.UNSET
    timezone: str | msgspec.UnsetType = msgspec.UNSET
    manager_user_id: UUID | msgspec.UnsetType | None = msgspec.UNSET


class HolidayImport(msgspec.Struct, forbid_unknown_fields=True):
    country: Annotated[str, msgspec.Meta(min_length=2, max_length=3)]
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    org_unit_id: UUID
    subdivision: Annotated[str, msgspec.Meta(max_length=10)] | None = None
    language: Annotated[str, msgspec.Meta(max_length=10)] | None = None


class HolidayIn(msgspec.Struct, forbid_unknown_fields=True):
    day: date
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class HolidayOut(msgspec.Struct):
    day: date
    name: str
    org_unit_id: UUID


def unit_out(unit: Any) -> OrgUnitOut:
    return OrgUnitOut(
        id=unit.id, parent_id=unit.parent_id, name=unit.name, kind=unit.kind, timezone=unit.timezone,
        manager_user_id=unit.manager_user_id, external_ref=unit.external_ref,
    )  # fmt: skip


class OrgUnitsApi(Controller):
    path = "/api/v1"
    tags = ("org units",)
    guards = (require_role("admin"),)

    @get("/org-units", summary="Every org unit (admins)")
    async def list_units(self, services: Services) -> list[OrgUnitOut]:
        return [unit_out(u) for u in await services.get(OrgUnitsService).list()]

    @post("/org-units", summary="Create a company, region or team")
    async def create_unit(self, services: Services, principal: Principal, data: OrgUnitCreate) -> OrgUnitOut:
        values = msgspec.structs.asdict(data)
        return unit_out(await services.get(OrgUnitsService).create(principal.id, **values))

    @patch("/org-units/{unit_id:uuid}", summary="Rename, move (no cycles), set time zone or manager")
    async def patch_unit(
        self, services: Services, principal: Principal, unit_id: UUID, data: OrgUnitPatch
    ) -> OrgUnitOut:
        units = services.get(OrgUnitsService)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return unit_out(await units.update(principal.id, await units.get(unit_id), changes))

    @delete("/org-units/{unit_id:uuid}", summary="Delete an empty unit (409 while people belong to it)")
    async def delete_unit(self, services: Services, principal: Principal, unit_id: UUID) -> None:
        units = services.get(OrgUnitsService)
        await units.delete(principal.id, await units.get(unit_id))

    @post("/holidays/import", status_code=200, summary="Fill a unit's public holidays of a year")
    async def import_holidays(
        self, services: Services, principal: Principal, data: HolidayImport
    ) -> dict[str, Any]:
        unit = await services.get(OrgUnitsService).get(data.org_unit_id)
        return await services.get(CalendarsService).import_public(
            principal.id, unit, data.country, data.subdivision, data.year, data.language
        )

    @get("/org-units/{unit_id:uuid}/holidays", summary="A unit's own holidays of a year")
    async def list_holidays(
        self, services: Services, unit_id: UUID, year: Annotated[int, Parameter(ge=2000, le=2100)]
    ) -> list[HolidayOut]:
        unit = await services.get(OrgUnitsService).get(unit_id)
        days = await services.get(CalendarsService).days(unit.id, year)
        return [HolidayOut(day=h.day, name=h.name, org_unit_id=h.org_unit_id) for h in days]

    @post("/org-units/{unit_id:uuid}/holidays", summary="Add one holiday to a unit")
    async def add_holiday(
        self, services: Services, principal: Principal, unit_id: UUID, data: HolidayIn
    ) -> HolidayOut:
        unit = await services.get(OrgUnitsService).get(unit_id)
        holiday = await services.get(CalendarsService).add_day(principal.id, unit, data.day, data.name)
        return HolidayOut(day=holiday.day, name=holiday.name, org_unit_id=unit.id)

    @delete("/org-units/{unit_id:uuid}/holidays/{day:date}", summary="Remove one holiday of a unit")
    async def remove_holiday(
        self, services: Services, principal: Principal, unit_id: UUID, day: date
    ) -> None:
        unit = await services.get(OrgUnitsService).get(unit_id)
        await services.get(CalendarsService).remove_day(principal.id, unit, day)


ROUTES = [OrgUnitsApi]
