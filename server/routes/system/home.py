"""The landing page: each role starts where its day starts."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect

from server.core.access import Principal
from server.core.deps import require_login
from server.core.services import Services
from server.core.templates import render
from server.domain.tasks import SKIP_REASONS
from server.services.tasks.tasks import KINDS
from server.services.tasks.today import TodayService

ROLE_HOME = {"manager": "/team", "executive": "/org", "admin": "/org"}


@get("/", guards=[require_login], include_in_schema=False)
async def home(request: Request[Any, Any, Any], principal: Principal, services: Services) -> Any:
    """Reps land on Today; the other roles are sent to their own first page."""
    if principal.role in ROLE_HOME:
        return Redirect(ROLE_HOME[principal.role], status_code=303)
    view = await services.get(TodayService).view(principal.id)
    return render(request, "tasks/today.html", skip_reasons=SKIP_REASONS, kinds=KINDS, **view.context())


ROUTES: list[Any] = [home]
