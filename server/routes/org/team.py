"""The manager's home and its drill-down pages: /team (the caller's own unit), /team/units/{id}
(any unit in scope: organisation -> region -> team), /team/reps/{id} (a rep: day, pace, customers).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.response import Redirect

from server.core.access import Principal, Scope
from server.core.deps import require_role
from server.core.services import Services
from server.core.templates import render
from server.services.forecasts.cards import ForecastCards
from server.services.org.team import TeamService


class TeamPages(Controller):
    path = "/team"
    include_in_schema = False
    guards = (require_role("manager", "executive"),)

    @get("/")
    async def home(
        self, request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services
    ) -> Any:
        """The manager's home: their own unit, live."""
        if principal.org_unit_id is None:
            return Redirect("/org", status_code=303)
        view = await services.get(TeamService).unit_view(principal, access, principal.org_unit_id)
        cards = await services.get(ForecastCards).for_scope(
            "org_unit", view.unit.id, services.clock.local_date(view.unit.timezone)
        )
        return render(request, "team/unit.html", view=view, home=True, forecast_cards=cards)

    @get("/units/{unit_id:uuid}")
    async def unit(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        unit_id: UUID,
    ) -> Any:
        view = await services.get(TeamService).unit_view(principal, access, unit_id)
        cards = await services.get(ForecastCards).for_scope(
            "org_unit", view.unit.id, services.clock.local_date(view.unit.timezone)
        )
        return render(
            request,
            "team/unit.html",
            view=view,
            home=unit_id == principal.org_unit_id,
            forecast_cards=cards,
        )

    @get("/reps/{rep_id:uuid}")
    async def rep(
        self, request: Request[Any, Any, Any], access: Scope, services: Services, rep_id: UUID
    ) -> Any:
        page = await services.get(TeamService).rep_view(access, rep_id)
        return render(request, "team/rep.html", **page)


ROUTES = [TeamPages]
