"""The executive's organisation pages: /org (pace heat table, red items, approvals, where to move
resources) and /org/weekly (the week's summary)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Controller, Request, get

from server.core.access import Principal, Scope
from server.core.deps import require_role
from server.core.errors import field_error
from server.core.services import Services
from server.core.templates import render
from server.services.forecasts.cards import ForecastCards
from server.services.org.reallocation import ReallocationService
from server.services.org.view import REALLOCATION_BELOW, OrgViewService
from server.services.org.weekly import OrgWeeklyService


def parse_week(value: str | None, today: date) -> date:
    """The Monday of an ISO week "2026-W49"; the current week when absent. 400 naming `week`."""
    if not value:
        return today - timedelta(days=today.weekday())
    try:
        year, week = value.upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise field_error("week", "must be an ISO week like 2026-W49", 400) from None


class OrgPages(Controller):
    path = "/org"
    include_in_schema = False
    guards = (require_role("executive"),)

    @get("/")
    async def overview(
        self, request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services
    ) -> Any:
        overview = await services.get(OrgViewService).overview(access)
        reps = await services.get(ReallocationService).reps_by_unit(access) if overview.reallocations else {}
        forecast_cards = []
        if principal.org_unit_id is not None:
            today = services.clock.local_date(principal.timezone)
            forecast_cards = await services.get(ForecastCards).for_scope(
                "org_unit", principal.org_unit_id, today
            )
        return render(
            request,
            "org/overview.html",
            overview=overview,
            threshold=REALLOCATION_BELOW,
            reps_by_unit=reps,
            forecast_cards=forecast_cards,
        )

    @get("/weekly")
    async def weekly(
        self, request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services
    ) -> Any:
        today = services.clock.local_date(principal.timezone)
        week_start = parse_week(request.query_params.get("week"), today)
        summary = await services.get(OrgWeeklyService).summary(access, week_start, principal.timezone)
        previous, following = week_start - timedelta(days=7), week_start + timedelta(days=7)
        return render(
            request,
            "org/weekly.html",
            summary=summary,
            iso_week=_iso(week_start),
            previous_week=_iso(previous),
            next_week=_iso(following) if following <= today else None,
        )


def _iso(monday: date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


ROUTES = [OrgPages]
