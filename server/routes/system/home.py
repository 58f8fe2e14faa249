"""The landing page: each role starts where its day starts."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect

from server.core.access import Principal
from server.core.deps import require_login, require_role
from server.core.services import Services
from server.core.templates import render
from server.domain.tasks import SKIP_REASONS
from server.services.tasks.tasks import KINDS, TasksService

ROLE_HOME = {"manager": "/team", "executive": "/org", "admin": "/org"}


@get("/", guards=[require_login], include_in_schema=False)
async def home(request: Request[Any, Any, Any], principal: Principal, services: Services) -> Any:
    """Reps land on Today; the other roles are sent to their own first page."""
    if principal.role in ROLE_HOME:
        return Redirect(ROLE_HOME[principal.role], status_code=303)
    view = await services.get(TasksService).today(principal.id)
    return render(request, "tasks/today.html", day=view, skip_reasons=SKIP_REASONS, kinds=KINDS)


ROUTES: list[Any] = [home]


# Landing pages for roles whose areas are built in later issues; each area's module takes
# its path over when it is built.
@get("/team", guards=[require_role("manager")], include_in_schema=False)
async def team_home(request: Request[Any, Any, Any]) -> Any:
    return render(request, "home/manager.html")


ROUTES += [team_home]
