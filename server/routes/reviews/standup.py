"""The stand-up board: `/standup` (cards), `/standup/present` (one rep at a time, with the meeting
timer) and `GET /api/v1/standup` (the same data as JSON, or CSV with `?format=csv`).

A manager opens their own team for today in the team's time zone; `org_unit_id` and `date` pick
another visible unit or day. A rep gets only their own card.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import QueryParameter

from server.core.access import Principal, Scope
from server.core.csv import csv_response
from server.core.deps import require_login
from server.core.errors import ProblemError
from server.core.services import Services
from server.core.templates import render
from server.routes.reviews.query import (
    UNIT_PARAM,
    form_error,
    iso_week,
    query_choice,
    query_date,
    query_unit,
)
from server.services.reviews.export import STANDUP_COLUMNS, standup_json, standup_rows
from server.services.reviews.metrics import unit_today, visible_units
from server.services.reviews.standup import StandupBoard, StandupService


async def _board(
    principal: Principal, access: Scope, services: Services, org_unit_id: str | None, day: str | None
) -> StandupBoard:
    unit_id = query_unit(org_unit_id, principal)
    board_day = query_date(day) or await unit_today(services, access, unit_id)
    return await services.get(StandupService).board(access, unit_id, board_day)


def _csv(board: StandupBoard) -> Response[str]:
    return csv_response(f"standup-{board.day.isoformat()}", STANDUP_COLUMNS, standup_rows(board))


@get(
    "/api/v1/standup",
    guards=[require_login],
    tags=["standup"],
    summary="Stand-up board: per rep yesterday's plan vs done, today's top tasks, blockers, pace",
    description="JSON, or one row per rep as CSV with ?format=csv.",
)
async def standup_api(
    principal: Principal,
    access: Scope,
    services: Services,
    org_unit_id: Annotated[str | None, UNIT_PARAM] = None,
    day: Annotated[
        str | None, QueryParameter(name="date", description="Local date like 2026-11-18; default: today")
    ] = None,
    output: Annotated[str | None, QueryParameter(name="format", description="json | csv")] = None,
) -> Response[Any]:
    board = await _board(principal, access, services, org_unit_id, day)
    if query_choice("format", output, ("json", "csv")) == "csv":
        return _csv(board)
    return Response(standup_json(board))


async def _page(
    request: Request[Any, Any, Any], template: str, principal: Principal, access: Scope, services: Services
) -> Any:
    params = request.query_params
    try:
        output = query_choice("format", params.get("format"), ("html", "csv"))
        board = await _board(principal, access, services, params.get("org_unit_id"), params.get("date"))
    except ProblemError as problem:
        if problem.status_code != 400:
            raise
        return await form_error(request, template, problem, access, services)
    if output == "csv":
        return _csv(board)
    return render(
        request,
        template,
        board=board,
        units=await visible_units(services, access),
        previous_day=board.day - timedelta(days=1),
        next_day=board.day + timedelta(days=1),
        week=iso_week(board.day - timedelta(days=board.day.weekday())),
        errors={},
    )


@get("/standup", guards=[require_login], include_in_schema=False)
async def standup_page(
    request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services
) -> Any:
    return await _page(request, "standup/board.html", principal, access, services)


@get("/standup/present", guards=[require_login], include_in_schema=False)
async def present_page(
    request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services
) -> Any:
    return await _page(request, "standup/present.html", principal, access, services)


ROUTES = [standup_api, standup_page, present_page]
