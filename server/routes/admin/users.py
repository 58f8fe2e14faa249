"""Users API: `GET|POST /api/v1/users`, `GET|PATCH /api/v1/users/{id}`, password reset, CSV import."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import Parameter

from server.core.access import Principal, Scope
from server.core.csv import read_upload
from server.core.deps import require_role
from server.core.errors import ProblemError
from server.core.services import Services
from server.services.auth.user_import import UserImportService
from server.services.auth.users import Consequences, UsersService

Role = Literal["rep", "manager", "executive", "admin"]
Password = Annotated[str, msgspec.Meta(max_length=200)]


class UserOut(msgspec.Struct):
    id: UUID
    email: str
    name: str
    role: str
    org_unit_id: UUID | None
    timezone: str
    locale: str | None
    daily_capacity: int
    start_lat: float | None
    start_lng: float | None
    active: bool
    notifications_enabled: bool


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    role: Role
    org_unit_id: UUID
    timezone: str | None = None
    locale: str | None = None
    daily_capacity: Annotated[int, msgspec.Meta(ge=1, le=30)] = 8
    start_lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    start_lng: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    password: Password | None = None  # none: the answer carries a one-time set-password link


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    timezone: str | msgspec.UnsetType = msgspec.UNSET
    locale: str | msgspec.UnsetType | None = msgspec.UNSET
    daily_capacity: Annotated[int, msgspec.Meta(ge=1, le=30)] | msgspec.UnsetType = msgspec.UNSET
    start_lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | msgspec.UnsetType | None = msgspec.UNSET
    start_lng: Annotated[float, msgspec.Meta(ge=-180, le=180)] | msgspec.UnsetType | None = msgspec.UNSET
    notifications_enabled: bool | msgspec.UnsetType = msgspec.UNSET
    # A move: the new unit, and for a rep with customers what happens to them.
    org_unit_id: UUID | msgspec.UnsetType = msgspec.UNSET
    customers: Literal["move_with_rep", "hand_over"] | msgspec.UnsetType = msgspec.UNSET
    # Deactivation (active=false) hands customers and managed units to the successor.
    active: bool | msgspec.UnsetType = msgspec.UNSET
    successor_id: UUID | msgspec.UnsetType = msgspec.UNSET


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    password: Password | None = None


class UserChange(msgspec.Struct):
    user: UserOut
    customers_moved: int = 0
    customers_handed_over: int = 0
    tasks_closed: int = 0
    sessions_revoked: int = 0
    successor_id: UUID | None = None
    set_password_link: str | None = None


def user_out(user: Any) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, name=user.name, role=user.role, org_unit_id=user.org_unit_id,
        timezone=user.timezone, locale=user.locale, daily_capacity=user.daily_capacity,
        start_lat=user.start_lat, start_lng=user.start_lng, active=user.active,
        notifications_enabled=user.notifications_enabled,
    )  # fmt: skip


def _unset(value: Any) -> Any:
    return None if value is msgspec.UNSET else value


async def apply_patch(services: Services, principal: Principal, user: Any, data: UserPatch) -> UserChange:
    """Edit, then move, then (de)activate: each step audited, all in one transaction."""
    users = services.get(UsersService)
    edits = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    for key in ("org_unit_id", "customers", "active", "successor_id"):
        edits.pop(key, None)
    await users.update(principal.id, user, edits)
    result = Consequences()
    if data.org_unit_id is not msgspec.UNSET:
        result = await users.move(
            principal.id, user, data.org_unit_id, _unset(data.customers), _unset(data.successor_id)
        )
    if data.active is False and user.active:
        result = await users.deactivate(principal.id, user, _unset(data.successor_id))
    elif data.active is True and not user.active:
        await users.reactivate(principal.id, user)
    return UserChange(
        user=user_out(user), customers_moved=result.customers_moved,
        customers_handed_over=result.customers_handed_over, tasks_closed=result.tasks_closed,
        sessions_revoked=result.sessions_revoked, successor_id=result.successor_id,
    )  # fmt: skip


class UsersApi(Controller):
    path = "/api/v1/users"
    tags = ("users",)
    guards = (require_role("manager", "executive", "admin"),)

    @get("/", summary="Users in the caller's scope (admins: everyone)")
    async def list_users(
        self,
        services: Services,
        access: Scope,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        include_inactive: bool = True,
    ) -> list[UserOut]:
        return [user_out(u) for u in await services.get(UsersService).list(access, q, include_inactive)]

    @get("/{user_id:uuid}", summary="One user")
    async def get_user(self, services: Services, access: Scope, user_id: UUID) -> UserOut:
        return user_out(await services.get(UsersService).get(access, user_id))

    @post("/", guards=[require_role("admin")], summary="Create a user (admins)")
    async def create_user(self, services: Services, principal: Principal, data: UserCreate) -> UserChange:
        values = msgspec.structs.asdict(data)
        user, link = await services.get(UsersService).create(principal.id, **values)
        return UserChange(user=user_out(user), set_password_link=link)

    @patch(
        "/{user_id:uuid}",
        guards=[require_role("admin")],
        summary="Edit, move (say what happens to customers) or deactivate (name a successor) a user",
    )
    async def patch_user(
        self, services: Services, principal: Principal, access: Scope, user_id: UUID, data: UserPatch
    ) -> UserChange:
        user = await services.get(UsersService).get(access, user_id)
        return await apply_patch(services, principal, user, data)

    @post(
        "/{user_id:uuid}/password",
        status_code=200,
        guards=[require_role("admin")],
        summary="Reset a password (or issue a one-time set-password link); the user's sessions end "
        "(an admin resetting their own keeps the session in use)",
    )
    async def reset_password(
        self, services: Services, principal: Principal, access: Scope, user_id: UUID, data: PasswordReset
    ) -> UserChange:
        users = services.get(UsersService)
        user = await users.get(access, user_id)
        link = await users.reset_password(principal.id, user, data.password, principal.token_digest)
        return UserChange(user=user_out(user), set_password_link=link)

    @post(
        "/import",
        status_code=200,
        guards=[require_role("admin")],
        summary="Create users from CSV or .xlsx (email,name,role,org_unit[,timezone,locale,daily_capacity]); "
        "all or nothing; each gets a set-password link",
    )
    async def import_users(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        principal: Principal,
        delimiter: Annotated[
            Literal["comma", "semicolon", "tab"] | None, Parameter(query="delimiter")
        ] = None,
        encoding: Annotated[Literal["utf-8", "gb18030", "gbk"] | None, Parameter(query="encoding")] = None,
    ) -> dict[str, Any]:
        table = await read_upload(request, delimiter, encoding)
        report = await services.get(UserImportService).run(principal.id, table)
        if report.errors:
            raise ProblemError(
                422,
                f"{len(report.errors)} row(s) rejected; nothing was imported.",
                report.errors,
                rows=report.rows,
            )
        return {"rows": report.rows, "created": report.created, "links": report.links}


ROUTES = [UsersApi]
