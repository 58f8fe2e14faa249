"""Opportunity pages: the scoped list (htmx-refreshed), a new deal, one deal with its edit form,
history and won -> order (Post/Redirect/Get)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.core.access import Scope
from server.core.deps import require_login
from server.core.errors import ProblemError, problem_errors
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import is_fragment_request, redirect, render
from server.db.models import Customer
from server.routes.pipeline.forms import deal_fields
from server.services.customers.customers import CustomerFilters, CustomersService
from server.services.pipeline.funnel import FunnelService
from server.services.pipeline.opportunities import OpportunitiesService, OpportunityFilters
from server.services.pipeline.stages import StagesService

PAGE_SIZE = 25
FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
STATUSES = ("open", "won", "lost")


def _filters(request: Request[Any, Any, Any]) -> tuple[OpportunityFilters, int]:
    """Lenient parsing: a hand-edited query string falls back to defaults, not a 400."""
    params = request.query_params
    try:
        owner = UUID(params.get("owner_rep_id") or "")
    except ValueError:
        owner = None
    status = params.get("status") if params.get("status") in (*STATUSES, "all") else "open"
    raw_page = params.get("page") or ""
    page = min(int(raw_page), 100_000) if raw_page.isascii() and raw_page.isdigit() else 1
    return OpportunityFilters(owner_rep_id=owner, status=None if status == "all" else status), max(page, 1)


def _query(filters: OpportunityFilters, **extra: Any) -> str:
    values = {"owner_rep_id": filters.owner_rep_id, "status": filters.status or "all", **extra}
    return urlencode({k: v for k, v in values.items() if v not in (None, "")})


async def _stages(services: Services, access: Scope) -> list[Any]:
    stages = services.get(StagesService)
    return await stages.stages(await stages.company_of(access.principal.org_unit_id), active_only=True)


class OpportunityPages(Controller):
    path = "/opportunities"
    include_in_schema = False
    guards = (require_login,)

    @get("/")
    async def list_page(self, request: Request[Any, Any, Any], services: Services, access: Scope) -> Any:
        filters, page = _filters(request)
        rows, total = await services.get(OpportunitiesService).list(
            access, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE
        )
        owners = [] if access.principal.is_rep else await services.get(CustomersService).owners(access)
        template = "pipeline/_rows.html" if is_fragment_request(request) else "pipeline/list.html"
        pages = max(1, -(-total // PAGE_SIZE))
        return render(
            request, template, rows=rows, total=total, page=page, pages=pages, filters=filters,
            owners=owners, query=_query, statuses=STATUSES,
        )  # fmt: skip

    @get("/new")
    async def new_page(self, request: Request[Any, Any, Any], services: Services, access: Scope) -> Any:
        form = {"customer_id": request.query_params.get("customer_id") or ""}
        return await _render_new(request, services, access, form, {})

    @post("/new")
    async def create(
        self, request: Request[Any, Any, Any], services: Services, access: Scope, data: FormData
    ) -> Any:
        fields, errors = deal_fields(data, new=True)
        if not errors:
            try:
                row = await services.get(OpportunitiesService).create(access, fields)
            except ProblemError as problem:
                errors = problem_errors(problem)
            else:
                return redirect(f"/opportunities/{row.opportunity.id}", "success", _("Deal saved."))
        return await _render_new(request, services, access, data, errors)

    @get("/{opportunity_id:uuid}")
    async def detail(
        self, request: Request[Any, Any, Any], services: Services, access: Scope, opportunity_id: UUID
    ) -> Any:
        return await _render_detail(request, services, access, opportunity_id, {}, {})

    @post("/{opportunity_id:uuid}")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        access: Scope,
        opportunity_id: UUID,
        data: FormData,
    ) -> Any:
        fields, errors = deal_fields(data, new=False)
        if not errors:
            try:
                await services.get(OpportunitiesService).update(access, opportunity_id, fields)
            except ProblemError as problem:
                if problem.status_code == 404:
                    raise
                errors = problem_errors(problem)
            else:
                return redirect(f"/opportunities/{opportunity_id}", "success", _("Deal saved."))
        return await _render_detail(request, services, access, opportunity_id, data, errors)

    @post("/{opportunity_id:uuid}/order")
    async def to_order(self, services: Services, access: Scope, opportunity_id: UUID) -> Any:
        await services.get(OpportunitiesService).to_order(access, opportunity_id)
        return redirect(f"/opportunities/{opportunity_id}", "success", _("The order is in the actuals."))


async def _render_new(
    request: Request[Any, Any, Any],
    services: Services,
    access: Scope,
    form: dict[str, str],
    errors: dict[str, str],
) -> Any:
    customers = await services.get(CustomersService).list(access, CustomerFilters(), limit=500)
    choices = [
        (row.customer.id, row.customer.name) for row in customers.rows if row.customer.status != "closed"
    ]
    return render(
        request, "pipeline/new.html", status_code=422 if errors else 200, customers=choices,
        stages=await _stages(services, access), form=form, errors=errors,
    )  # fmt: skip


async def _render_detail(
    request: Request[Any, Any, Any],
    services: Services,
    access: Scope,
    opportunity_id: UUID,
    form: dict[str, str],
    errors: dict[str, str],
) -> Any:
    opportunities = services.get(OpportunitiesService)
    row = await opportunities.get(access, opportunity_id)
    customer = await services.session.get(Customer, row.opportunity.customer_id)
    return render(
        request, "pipeline/detail.html", status_code=422 if errors else 200, row=row, deal=row.opportunity,
        customer=customer, history=await opportunities.history(opportunity_id),
        stages=await _stages(services, access), form=form, errors=errors,
    )  # fmt: skip


@get("/pipeline/funnel", guards=[require_login], include_in_schema=False)
async def funnel_page(request: Request[Any, Any, Any], services: Services, access: Scope) -> Any:
    """The deal funnel of a unit (a rep: their own), as a page or as the fragment the weekly review
    and /team load; `period` a month or an ISO week."""
    params = request.query_params
    try:
        scope_id = UUID(params.get("scope_id") or "") if params.get("scope_id") else None
    except ValueError:
        scope_id = None
    scope = "user" if access.principal.is_rep else "org_unit"
    report = await services.get(FunnelService).report(
        access, scope, None if access.principal.is_rep else scope_id, params.get("period")
    )
    csv_query = urlencode({"scope": scope, "scope_id": report.total.scope_id, "period": report.period.label})
    return render(
        request, "pipeline/funnel.html", report=report, csv_query=csv_query,
        fragment=is_fragment_request(request),
    )  # fmt: skip


ROUTES = [OpportunityPages, funnel_page]
