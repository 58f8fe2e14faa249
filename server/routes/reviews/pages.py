"""Weekly review, scorecard and stand-up board, as pages and as API.

- `/reviews/weekly`, `/reviews/scorecard` (pages; `?format=csv` downloads a table) and
  `GET /api/v1/reviews/weekly|scorecard` (JSON, or CSV with `?format=csv`).
- `/standup` (cards), `/standup/present` (one rep at a time, with the meeting timer) and
  `GET /api/v1/standup` (the same data as JSON, with the unit's forecast vs plan under
  `forecast`, or CSV with `?format=csv`). A manager opens their
  own team for today in the team's time zone; `org_unit_id` and `date` pick another visible unit
  or day. A rep gets only their own card.

Query strings are parsed by server/core/params.py, so the API and the pages name the same field
with the same words.
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
from server.core.i18n import gettext as _
from server.core.org import OrgTree
from server.core.params import (
    UNIT_PARAM,
    iso_week,
    query_choice,
    query_date,
    query_month,
    query_unit,
    query_week,
)
from server.core.services import Services
from server.core.templates import render
from server.domain.calendar import month_end
from server.services.forecasts.summaries import ForecastSummaries
from server.services.reviews.charts import scorecard_charts, weekly_charts
from server.services.reviews.export import (
    SCORECARD_COLUMNS,
    STANDUP_COLUMNS,
    WEEKLY_COLUMNS,
    scorecard_json,
    scorecard_rows,
    standup_json,
    standup_rows,
    weekly_json,
    weekly_tables,
)
from server.services.reviews.metrics import REACH_FLOOR, unit_today, visible_units
from server.services.reviews.rep_plan_export import REP_PLAN_COLUMNS, rep_plan_rows, review_plans
from server.services.reviews.scorecard import Scorecard, ScorecardService
from server.services.reviews.standup import StandupBoard, StandupService
from server.services.reviews.weekly import ReviewsService, WeeklyReview

TABLES = (*WEEKLY_COLUMNS, "rep_plans")


async def form_error(
    request: Request[Any, Any, Any], template: str, problem: ProblemError, access: Scope, services: Services
) -> Any:
    """The page's form again with a 400, each message next to its field."""
    extra = problem.extra if isinstance(problem.extra, dict) else {}
    return render(
        request,
        template,
        status_code=400,
        units=await visible_units(services, access),
        errors={e["field"]: e["message"] for e in extra.get("errors", [])},
        form=dict(request.query_params),
        error_summary=_("Check the highlighted field."),
    )


async def _weekly(
    principal: Principal, access: Scope, services: Services, org_unit_id: str | None, week: str | None
) -> WeeklyReview:
    unit_id = query_unit(org_unit_id, principal)
    week_start = query_week(week)
    if week_start is None:
        today = await unit_today(services, access, unit_id)
        week_start = today - timedelta(days=today.weekday())
    return await services.get(ReviewsService).weekly(access, unit_id, week_start)


async def _scorecard(
    principal: Principal, access: Scope, services: Services, org_unit_id: str | None, month: str | None
) -> Scorecard:
    unit_id = query_unit(org_unit_id, principal)
    first = query_month(month)
    if first is None:
        first = (await unit_today(services, access, unit_id)).replace(day=1)
    return await services.get(ScorecardService).monthly(access, unit_id, first)


async def _weekly_csv(services: Services, review: WeeklyReview, table: str) -> Response[str]:
    if table == "rep_plans":
        rows = rep_plan_rows(await review_plans(services, review))
        return csv_response(f"weekly-{review.iso_week}-{table}", REP_PLAN_COLUMNS, rows)
    return csv_response(
        f"weekly-{review.iso_week}-{table}", WEEKLY_COLUMNS[table], weekly_tables(review)[table]
    )


@get(
    "/api/v1/reviews/weekly",
    guards=[require_login],
    tags=["reviews"],
    summary="Weekly review: plan vs actual, compliance by grade, reach, funnel, movers, reps' own plans",
    description="JSON, or one table as CSV with ?format=csv&table=plan|grades|funnel|movers|rep_plans.",
)
async def weekly_api(
    principal: Principal,
    access: Scope,
    services: Services,
    org_unit_id: Annotated[str | None, UNIT_PARAM] = None,
    week: Annotated[
        str | None, QueryParameter(description="ISO week like 2026-W47; default: this week")
    ] = None,
    output: Annotated[str | None, QueryParameter(name="format", description="json | csv")] = None,
    table: Annotated[
        str | None, QueryParameter(description="plan | grades | funnel | movers | rep_plans (CSV)")
    ] = None,
) -> Response[Any]:
    review = await _weekly(principal, access, services, org_unit_id, week)
    if query_choice("format", output, ("json", "csv")) == "csv":
        return await _weekly_csv(services, review, query_choice("table", table, TABLES))
    plans = rep_plan_rows(await review_plans(services, review))
    return Response({**weekly_json(review), "rep_plans": plans})


@get(
    "/api/v1/reviews/scorecard",
    guards=[require_login],
    tags=["reviews"],
    summary="Rep scorecards for a month, ranked within each team",
    description="JSON, or the leaderboard as CSV with ?format=csv.",
)
async def scorecard_api(
    principal: Principal,
    access: Scope,
    services: Services,
    org_unit_id: Annotated[str | None, UNIT_PARAM] = None,
    month: Annotated[
        str | None, QueryParameter(description="Month like 2026-11; default: this month")
    ] = None,
    output: Annotated[str | None, QueryParameter(name="format", description="json | csv")] = None,
) -> Response[Any]:
    card = await _scorecard(principal, access, services, org_unit_id, month)
    if query_choice("format", output, ("json", "csv")) == "csv":
        return csv_response(f"scorecard-{card.iso_month}", SCORECARD_COLUMNS, scorecard_rows(card))
    return Response(scorecard_json(card))


@get("/reviews/weekly", guards=[require_login], include_in_schema=False)
async def weekly_page(
    request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services
) -> Any:
    params = request.query_params
    try:
        output = query_choice("format", params.get("format"), ("html", "csv"))
        table = query_choice("table", params.get("table"), TABLES)
        review = await _weekly(principal, access, services, params.get("org_unit_id"), params.get("week"))
    except ProblemError as problem:
        if problem.status_code != 400:
            raise
        return await form_error(request, "reviews/weekly.html", problem, access, services)
    if output == "csv":
        return await _weekly_csv(services, review, table)
    following = review.week_start + timedelta(days=7)
    reps = [(row.rep_id, row.name) for row in review.plan if row.rep_id is not None]
    rep_plans = await review_plans(services, review)
    with_plan = {view.plan.rep_id for view in rep_plans}
    return render(
        request,
        "reviews/weekly.html",
        review=review,
        rep_plans=rep_plans,
        reps_without_plan=[name for rep_id, name in reps if rep_id not in with_plan],
        review_url=f"/reviews/weekly?org_unit_id={review.unit.id}&week={review.iso_week}",
        units=await visible_units(services, access),
        charts=weekly_charts(review),
        reach_floor=REACH_FLOOR,
        previous_week=iso_week(review.week_start - timedelta(days=7)),
        next_week=iso_week(following) if review.as_of == review.week_end else None,
        errors={},
    )


@get("/reviews/scorecard", guards=[require_login], include_in_schema=False)
async def scorecard_page(
    request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services
) -> Any:
    params = request.query_params
    try:
        output = query_choice("format", params.get("format"), ("html", "csv"))
        card = await _scorecard(principal, access, services, params.get("org_unit_id"), params.get("month"))
    except ProblemError as problem:
        if problem.status_code != 400:
            raise
        return await form_error(request, "reviews/scorecard.html", problem, access, services)
    if output == "csv":
        return csv_response(f"scorecard-{card.iso_month}", SCORECARD_COLUMNS, scorecard_rows(card))
    first = card.month
    return render(
        request,
        "reviews/scorecard.html",
        card=card,
        units=await visible_units(services, access),
        charts=scorecard_charts(card),
        previous_month=f"{first - timedelta(days=1):%Y-%m}",
        next_month=f"{month_end(first) + timedelta(days=1):%Y-%m}"
        if card.as_of == month_end(first)
        else None,
        errors={},
    )


ROUTES = [weekly_api, scorecard_api, weekly_page, scorecard_page]


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
    return Response({**standup_json(board), "forecast": await _forecast(principal, board, services)})


async def _forecast(principal: Principal, board: StandupBoard, services: Services) -> list[dict[str, Any]]:
    """The unit's month and quarter forecast vs plan (ForecastSummaries), as the board shows it;
    empty for a rep: a unit's forecast is for its managers (as GET /api/v1/forecasts)."""
    if principal.is_rep:
        return []
    tree = await OrgTree.load(services.session)
    found = await services.get(ForecastSummaries).for_units(
        tree, {board.unit.id: board.unit.id}, services.clock.now()
    )
    return found[board.unit.id]


async def _standup_page(
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
        forecast=await _forecast(principal, board, services),
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
    return await _standup_page(request, "standup/board.html", principal, access, services)


@get("/standup/present", guards=[require_login], include_in_schema=False)
async def present_page(
    request: Request[Any, Any, Any], principal: Principal, access: Scope, services: Services
) -> Any:
    return await _standup_page(request, "standup/present.html", principal, access, services)


ROUTES += [standup_api, standup_page, present_page]
