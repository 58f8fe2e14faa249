"""Admin screens: the admin home and users (list, create, edit, move, deactivate, reset password)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from sqlalchemy import func, select

from server.core.access import Principal, Scope
from server.core.deps import require_role
from server.core.errors import ProblemError, problem_errors
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect, render
from server.db.models import AuditEntry, Customer, Holiday, OrgUnit, User
from server.db.models.users import ROLES
from server.services.admin.org_units import OrgUnitsService
from server.services.auth.users import UsersService

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _uuid(raw: str | None) -> UUID | None:
    try:
        return UUID(raw) if raw else None
    except ValueError:
        return None


def _number(raw: str | None, name: str, cast: Any = int) -> Any:
    if raw in (None, ""):
        return None
    try:
        return cast(raw)
    except ValueError:
        raise ProblemError(
            422, f"{name}: must be a number", [{"field": name, "message": _("Enter a number.")}]
        ) from None


async def unit_choices(services: Services) -> list[tuple[UUID, str]]:
    """Every unit as (id, "Region › Team") for select boxes, in tree order."""
    units = await services.get(OrgUnitsService).list()
    by_id = {u.id: u for u in units}

    def path(unit: OrgUnit) -> str:
        names: list[str] = []
        seen: set[UUID] = set()
        current: OrgUnit | None = unit
        while current is not None and current.id not in seen:
            seen.add(current.id)
            names.append(current.name)
            current = by_id.get(current.parent_id) if current.parent_id else None
        return " › ".join(reversed(names))

    return sorted(((u.id, path(u)) for u in units), key=lambda pair: pair[1])


class AdminHome(Controller):
    path = "/admin"
    include_in_schema = False
    guards = (require_role("admin"),)

    @get("/")
    async def home(self, request: Request[Any, Any, Any], services: Services) -> Any:
        session = services.session

        async def count(query: Any) -> int:
            return int(await session.scalar(query) or 0)

        figures = {
            "users": await count(select(func.count()).select_from(User).where(User.active.is_(True))),
            "inactive": await count(select(func.count()).select_from(User).where(User.active.is_(False))),
            "units": await count(select(func.count()).select_from(OrgUnit)),
            "customers": await count(select(func.count()).select_from(Customer)),
            "holidays": await count(select(func.count()).select_from(Holiday)),
            "changes": await count(select(func.count()).select_from(AuditEntry)),
        }
        return render(request, "admin/home.html", figures=figures)


class UserPages(Controller):
    path = "/admin/users"
    include_in_schema = False
    guards = (require_role("admin"),)

    @get("/")
    async def list_users(
        self, request: Request[Any, Any, Any], services: Services, access: Scope, q: str = ""
    ) -> Any:
        users = await services.get(UsersService).list(access, q.strip()[:100] or None)
        units = dict(await unit_choices(services))
        return render(request, "admin/users.html", users=users, units=units, q=q)

    @get("/new")
    async def new_user(self, request: Request[Any, Any, Any], services: Services) -> Any:
        return await self._form(request, services, {}, {})

    @post("/new")
    async def create_user(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal, data: Form
    ) -> Any:
        try:
            user, link = await services.get(UsersService).create(
                principal.id, email=data.get("email", ""), name=data.get("name", ""), role=data.get("role", ""),
                org_unit_id=_uuid(data.get("org_unit_id")), timezone=data.get("timezone") or None,
                locale=data.get("locale") or None, daily_capacity=_number(data.get("daily_capacity"), "daily_capacity") or 8,
                password=data.get("password") or None,
            )  # fmt: skip
        except ProblemError as problem:
            return await self._form(request, services, data, problem_errors(problem), status_code=422)
        message = _("%(name)s can sign in now.", name=user.name)
        if link:
            message = _("%(name)s is invited. Send them this one-time link (valid 72 hours): %(link)s",
                        name=user.name, link=str(request.base_url).rstrip("/") + link)  # fmt: skip
        return redirect(f"/admin/users/{user.id}", "success", message)

    @get("/{user_id:uuid}")
    async def edit_user(
        self, request: Request[Any, Any, Any], services: Services, access: Scope, user_id: UUID
    ) -> Any:
        return await self._detail(request, services, access, user_id, {})

    @post("/{user_id:uuid}/{action:str}")
    async def change_user(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal, access: Scope,
        user_id: UUID, action: str, data: Form,
    ) -> Any:  # fmt: skip
        users = services.get(UsersService)
        user = await users.get(access, user_id)
        try:
            message = await self._apply(services, principal, user, action, data, request)
        except ProblemError as problem:
            errors = {f"{action}.{k}": v for k, v in problem_errors(problem).items()}
            return await self._detail(request, services, access, user_id, errors, status_code=422)
        return redirect(f"/admin/users/{user_id}", "success", message)

    async def _apply(
        self,
        services: Services,
        principal: Principal,
        user: User,
        action: str,
        data: Form,
        request: Request[Any, Any, Any],
    ) -> str:
        users = services.get(UsersService)
        if action == "edit":
            await users.update(principal.id, user, {
                "name": data.get("name", ""), "role": data.get("role", ""), "timezone": data.get("timezone", ""),
                "locale": data.get("locale") or None,
                "daily_capacity": _number(data.get("daily_capacity"), "daily_capacity"),
                "start_lat": _number(data.get("start_lat"), "start_lat", float),
                "start_lng": _number(data.get("start_lng"), "start_lng", float),
            })  # fmt: skip
            return _("Saved.")
        if action == "move":
            result = await users.move(principal.id, user, _uuid(data.get("org_unit_id")) or UUID(int=0),
                                      data.get("customers") or None, _uuid(data.get("successor_id")))  # fmt: skip
            return _("Moved. Customers moved with them: %(moved)s; handed over: %(handed)s; open tasks closed: %(tasks)s.",
                     moved=result.customers_moved, handed=result.customers_handed_over, tasks=result.tasks_closed)  # fmt: skip
        if action == "deactivate":
            result = await users.deactivate(principal.id, user, _uuid(data.get("successor_id")))
            return _("Deactivated and signed out everywhere (%(sessions)s sessions). Customers handed over: "
                     "%(handed)s; open tasks closed: %(tasks)s.", sessions=result.sessions_revoked,
                     handed=result.customers_handed_over, tasks=result.tasks_closed)  # fmt: skip
        if action == "reactivate":
            await users.reactivate(principal.id, user)
            return _("Active again. Reset their password so they can sign in.")
        if action == "password":
            link = await users.reset_password(
                principal.id, user, data.get("password") or None, principal.token_digest
            )
            if user.id == principal.id:
                return (_("Your other sessions were signed out. Set your new password with this one-time link "
                          "(valid 72 hours): %(link)s", link=str(request.base_url).rstrip("/") + link)
                        if link else _("Password changed; your other sessions were signed out."))  # fmt: skip
            if link:
                return _("Signed out everywhere. Send them this one-time link (valid 72 hours): %(link)s",
                         link=str(request.base_url).rstrip("/") + link)  # fmt: skip
            return _("Password changed; they were signed out everywhere.")
        raise ProblemError(404, "Unknown action.")

    async def _form(self, request: Request[Any, Any, Any], services: Services, values: dict[str, str],
                    errors: dict[str, str], status_code: int = 200) -> Any:  # fmt: skip
        return render(request, "admin/user_new.html", status_code=status_code, values=values, errors=errors,
                      roles=ROLES, units=await unit_choices(services))  # fmt: skip

    async def _detail(self, request: Request[Any, Any, Any], services: Services, access: Scope, user_id: UUID,
                      errors: dict[str, str], status_code: int = 200) -> Any:  # fmt: skip
        users = services.get(UsersService)
        user = await users.get(access, user_id)
        successors = [
            (u.id, u.name) for u in await users.list(access, include_inactive=False) if u.id != user.id
        ]
        units = await unit_choices(services)
        return render(
            request, "admin/user_edit.html", status_code=status_code, person=user, errors=errors, roles=ROLES,
            units=units, unit_name=dict(units).get(user.org_unit_id, "–") if user.org_unit_id else "–", work=await users.open_work(user.id),
            successors=successors,
        )  # fmt: skip


ROUTES = [AdminHome, UserPages]
