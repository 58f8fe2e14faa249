"""Dependencies shared by every controller: the caller, their scope, the services, guards."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import Clock
from server.core.access import Principal, Scope
from server.core.services import Services

# `?date=YYYY-MM-DD`, a local date; handlers default it to the caller's today.
DateParam = Annotated[
    date | None, QueryParameter(name="date", description="Local date (YYYY-MM-DD); default today")
]


# Guards are coroutines: Litestar runs a plain function guard in a worker thread, a thread hop on
# every request for what is two attribute reads.
async def require_login(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("user") is None:
        raise NotAuthorizedException(detail="Sign in required.")


def require_role(*roles: str) -> Any:
    """Guard: the caller must have one of these roles (admins pass everywhere executives do)."""
    allowed = set(roles) | ({"admin"} if "executive" in roles else set())

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException(detail="Sign in required.")
        if user.role not in allowed:
            raise PermissionDeniedException(detail="Your role cannot open this page.")

    return guard


# The request's dependencies form one chain, db_session -> services -> principal -> access, so
# Litestar resolves them one after another. Two that are ready at the same step would be
# resolved concurrently in an anyio TaskGroup (a task each), which costs more than the
# dependencies themselves: ~4% of a check-in's server CPU. `services` costs nothing until used
# (the session connects on its first statement), so asking it of `principal` is free.
async def provide_services(request: Request[Any, Any, Any], db_session: AsyncSession) -> Services:
    state = request.app.state
    return Services(session=db_session, settings=state.settings, clock=state.clock)


async def provide_principal(request: Request[Any, Any, Any], services: Services) -> Principal:
    user = request.scope.get("user")
    if user is None:
        raise NotAuthorizedException(detail="Sign in required.")
    return user


async def provide_caller(request: Request[Any, Any, Any]) -> Principal | None:
    """The caller if signed in, else None: for pages anyone may open (the login page)."""
    return request.scope.get("user")


async def provide_clock(request: Request[Any, Any, Any]) -> Clock:
    return request.app.state.clock


async def provide_access(principal: Principal, services: Services) -> Scope:
    return await Scope.load(services.session, principal)


dependencies = {
    "principal": Provide(provide_principal),
    "caller": Provide(provide_caller),
    "services": Provide(provide_services),
    "access": Provide(provide_access),
    "clock": Provide(provide_clock),
}
