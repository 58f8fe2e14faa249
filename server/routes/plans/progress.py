"""Progress: `GET /api/v1/progress` for any visible scope, and the rep's `/progress` page."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Request, get
from litestar.params import QueryParameter

from server.clock import Clock
from server.core.access import Principal, Scope
from server.core.deps import require_login
from server.core.errors import ProblemError, field_error
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import render
from server.db.models import User
from server.domain.charts import progress_bar
from server.domain.plans import SCOPES
from server.services.plans.progress import ProgressService, ScopeProgress
from server.services.plans.targets import PlansService


def progress_out(result: ScopeProgress, metric: str, granularity: str, as_of: date) -> dict[str, Any]:
    p = result.progress
    return {
        "scope": result.scope,
        "scope_id": result.scope_id,
        "target_id": result.target_id,
        "metric": metric,
        "granularity": granularity,
        "as_of": as_of,
        "period_start": result.period_start,
        "period_end": result.period_end,
        "target": result.target,
        "actual": result.actual,
        "expected_to_date": p.expected_to_date,
        "elapsed_fraction": p.elapsed_fraction,
        "pace": p.pace,
        "lag": p.lag,
        "status": p.status.value,
        "warnable": p.warnable,
        "attainment": p.attainment,
        "projection": p.projection,
        "remaining_gap": p.remaining_gap,
        "working_days_elapsed": p.working_days_elapsed,
        "working_days_total": p.working_days_total,
        "working_days_left": p.working_days_left,
        "required_daily_run_rate": p.required_daily_run_rate,
    }


@get("/api/v1/progress", guards=[require_login], tags=["plans"], summary="Pace against the approved target")
async def progress_api(
    principal: Principal,
    access: Scope,
    services: Services,
    clock: Clock,
    scope_name: Annotated[
        str, QueryParameter(name="scope", description="user | org_unit | customer")
    ] = "user",
    scope_id: UUID | None = None,
    as_of: date | None = None,
    metric: Literal["revenue", "visits", "new_customers"] = "revenue",
    granularity: Literal["year", "quarter", "month", "week"] = "month",
) -> dict[str, Any]:
    if scope_name not in SCOPES:  # checked here so the error names `scope`, not the Python name
        raise field_error("scope", f"must be one of {', '.join(SCOPES)}", 400)
    if scope_id is None:
        if scope_name != "user":
            raise field_error("scope_id", f"required for scope {scope_name}")
        scope_id = principal.id
    await services.get(PlansService).check_scope(access, scope_name, scope_id)
    as_of = as_of or clock.local_date(principal.timezone)
    result = await services.get(ProgressService).for_one(scope_name, scope_id, as_of, metric, granularity)
    if result is None:
        raise ProblemError(
            404, f"No approved {granularity} {metric} target for this {scope_name} on {as_of}."
        )
    return progress_out(result, metric, granularity, as_of)


# The rep's page: their revenue for month, quarter and year, then visits for the month.
PAGE_ROWS = (
    ("revenue", "month"),
    ("revenue", "quarter"),
    ("revenue", "year"),
    ("visits", "month"),
    ("new_customers", "month"),
)


@get("/progress", guards=[require_login], include_in_schema=False)
async def progress_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    access: Scope,
    services: Services,
    clock: Clock,
    user_id: UUID | None = None,
    as_of: date | None = None,
) -> Any:
    """A rep's pace; managers open a rep's page from the plan tree (?user_id=)."""
    subject = user_id or principal.id
    await services.get(PlansService).check_scope(access, "user", subject)
    as_of = as_of or clock.local_date(principal.timezone)
    progress = services.get(ProgressService)
    cards = []
    for metric, granularity in PAGE_ROWS:
        result = await progress.for_one("user", subject, as_of, metric, granularity)
        if result is not None:
            cards.append(
                {
                    "metric": metric,
                    "granularity": granularity,
                    "result": result,
                    "bar": progress_bar(result.target, result.actual, result.progress.expected_to_date),
                }
            )
    name = principal.name if subject == principal.id else await _user_name(services, subject)
    return render(
        request,
        "progress/index.html",
        cards=cards,
        as_of=as_of,
        subject_name=name,
        own=subject == principal.id,
        metric_labels={"revenue": _("Revenue"), "visits": _("Visits"), "new_customers": _("New customers")},
        period_labels={"month": _("This month"), "quarter": _("This quarter"), "year": _("This year")},
    )


async def _user_name(services: Services, user_id: UUID) -> str:
    user = await services.session.get(User, user_id)
    return user.name if user else ""


ROUTES = [progress_api, progress_page]
