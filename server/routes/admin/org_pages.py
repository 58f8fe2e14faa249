"""Admin screens for the org tree and its calendars: units (create, rename, move, time zone,
manager, delete when empty) and a unit's year calendar (import public holidays, add or remove days)."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from sqlalchemy import func, select

from server.core.access import Principal
from server.core.deps import require_role
from server.core.errors import ProblemError, field_error, problem_errors
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect, render
from server.db.models import User
from server.services.admin.calendars import CalendarsService
from server.services.admin.org_units import KINDS, OrgUnitsService

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _uuid(raw: str | None) -> UUID | None:
    try:
        return UUID(raw) if raw else None
    except ValueError:
        return None


async def _tree(services: Services) -> list[tuple[Any, int, int]]:
    """Units in tree order with their depth and number of active people."""
    units = await services.get(OrgUnitsService).list()
    people = dict(
        (await services.session.execute(
            select(User.org_unit_id, func.count()).where(User.active.is_(True)).group_by(User.org_unit_id)
        )).tuples().all()
    )  # fmt: skip
    children: dict[Any, list[Any]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered: list[tuple[Any, int, int]] = []

    def walk(parent: Any, depth: int) -> None:
        for unit in children.get(parent, []):
            ordered.append((unit, depth, int(people.get(unit.id, 0))))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return ordered


async def _managers(services: Services) -> list[tuple[UUID, str]]:
    rows = await services.session.execute(
        select(User.id, User.name).where(User.active.is_(True), User.role != "rep").order_by(User.name)
    )
    return [(row.id, row.name) for row in rows]


class OrgUnitPages(Controller):
    path = "/admin/org-units"
    include_in_schema = False
    guards = (require_role("admin"),)

    @get("/")
    async def index(self, request: Request[Any, Any, Any], services: Services) -> Any:
        return await self._index(request, services, {}, {})

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal, data: Form
    ) -> Any:
        try:
            unit = await services.get(OrgUnitsService).create(
                principal.id, name=data.get("name", ""), kind=data.get("kind", ""),
                parent_id=_uuid(data.get("parent_id")), timezone=data.get("timezone") or None,
                manager_user_id=_uuid(data.get("manager_user_id")),
            )  # fmt: skip
        except ProblemError as problem:
            return await self._index(request, services, data, problem_errors(problem), 422)
        return redirect("/admin/org-units", "success", _("%(name)s created.", name=unit.name))

    @get("/{unit_id:uuid}")
    async def edit(self, request: Request[Any, Any, Any], services: Services, unit_id: UUID) -> Any:
        return await self._edit(request, services, unit_id, {})

    @post("/{unit_id:uuid}")
    async def save(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        principal: Principal,
        unit_id: UUID,
        data: Form,
    ) -> Any:
        units = services.get(OrgUnitsService)
        unit = await units.get(unit_id)
        changes: dict[str, Any] = {
            "name": data.get("name", ""), "timezone": data.get("timezone", ""),
            "manager_user_id": _uuid(data.get("manager_user_id")),
        }  # fmt: skip
        if unit.parent_id is not None:
            changes["parent_id"] = _uuid(data.get("parent_id"))
        try:
            await units.update(principal.id, unit, changes)
        except ProblemError as problem:
            return await self._edit(request, services, unit_id, problem_errors(problem), 422)
        return redirect(f"/admin/org-units/{unit_id}", "success", _("Saved."))

    @post("/{unit_id:uuid}/delete")
    async def remove(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal, unit_id: UUID
    ) -> Any:
        units = services.get(OrgUnitsService)
        try:
            await units.delete(principal.id, await units.get(unit_id))
        except ProblemError as problem:
            return await self._edit(
                request, services, unit_id, {"delete": problem_errors(problem).popitem()[1]}, 409
            )
        return redirect("/admin/org-units", "success", _("Deleted."))

    async def _index(self, request: Request[Any, Any, Any], services: Services, values: dict[str, str],
                     errors: dict[str, str], status_code: int = 200) -> Any:  # fmt: skip
        tree = await _tree(services)
        parents = [(u.id, "· " * depth + u.name) for u, depth, _n in tree if u.kind != "team"]
        return render(request, "admin/org_units.html", status_code=status_code, tree=tree, parents=parents,
                      kinds=KINDS, managers=await _managers(services), values=values, errors=errors)  # fmt: skip

    async def _edit(self, request: Request[Any, Any, Any], services: Services, unit_id: UUID,
                    errors: dict[str, str], status_code: int = 200) -> Any:  # fmt: skip
        unit = await services.get(OrgUnitsService).get(unit_id)
        tree = await _tree(services)
        parents = [
            (u.id, "· " * depth + u.name) for u, depth, _n in tree if u.kind != "team" and u.id != unit.id
        ]
        people = await services.get(OrgUnitsService).people(unit.id)
        return render(request, "admin/org_unit_edit.html", status_code=status_code, unit=unit, parents=parents,
                      managers=await _managers(services), people=people, errors=errors)  # fmt: skip


class CalendarPages(Controller):
    path = "/admin/calendars"
    include_in_schema = False
    guards = (require_role("admin"),)

    @get("/{unit_id:uuid}")
    async def year(
        self, request: Request[Any, Any, Any], services: Services, unit_id: UUID, year: int = 0
    ) -> Any:
        return await self._page(request, services, unit_id, year, {})

    @post("/{unit_id:uuid}/{action:str}")
    async def change(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal, unit_id: UUID,
        action: str, data: Form,
    ) -> Any:  # fmt: skip
        unit = await services.get(OrgUnitsService).get(unit_id)
        calendars = services.get(CalendarsService)
        year = int(data.get("year") or 0) if (data.get("year") or "").isdigit() else 0
        try:
            if action == "import":
                result = await calendars.import_public(principal.id, unit, data.get("country", ""),
                                                       data.get("subdivision") or None, year,
                                                       "zh_CN" if data.get("chinese_names") else None)  # fmt: skip
                message = _("%(added)s holidays added (%(found)s in %(country)s %(year)s).", added=result["added"],
                            found=result["holidays"], country=result["country"], year=year)  # fmt: skip
            elif action in ("add", "remove"):
                day = _date(data.get("day"))
                year = day.year
                if action == "add":
                    await calendars.add_day(principal.id, unit, day, data.get("name", ""))
                    message = _("%(day)s is now a holiday.", day=day.isoformat())
                else:
                    await calendars.remove_day(principal.id, unit, day)
                    message = _("%(day)s is a working day again.", day=day.isoformat())
            else:
                raise ProblemError(404, "Unknown action.")
        except ProblemError as problem:
            errors = {f"{action}.{k}": v for k, v in problem_errors(problem).items()}
            return await self._page(request, services, unit_id, year, errors, 422)
        return redirect(f"/admin/calendars/{unit_id}?year={year}", "success", message)

    async def _page(self, request: Request[Any, Any, Any], services: Services, unit_id: UUID, year: int,
                    errors: dict[str, str], status_code: int = 200) -> Any:  # fmt: skip
        unit = await services.get(OrgUnitsService).get(unit_id)
        year = year if 2000 <= year <= 2100 else services.clock.local_date(unit.timezone).year
        calendars = services.get(CalendarsService)
        own = {h.day: h.name for h in await calendars.days(unit.id, year)}
        inherited = {h.day: f"{h.name} ({source})" for h, source in await calendars.inherited(unit, year)}
        months = [calendar.Calendar(firstweekday=0).monthdatescalendar(year, m) for m in range(1, 13)]
        return render(request, "admin/calendar.html", status_code=status_code, unit=unit, year=year, own=own,
                      inherited=inherited, months=months, errors=errors)  # fmt: skip


def _date(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        raise field_error("day", _("Enter a date (YYYY-MM-DD).")) from None


ROUTES = [OrgUnitPages, CalendarPages]
