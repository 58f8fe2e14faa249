"""Customers: the scoped list (JSON, CSV, page + htmx rows), detail with its grade explained, overrides."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import Body, Parameter, QueryParameter

from server.core.access import Scope
from server.core.csv import csv_response
from server.core.deps import require_login, require_role
from server.core.errors import ProblemError, not_found
from server.core.i18n import gettext as _
from server.core.params import sent
from server.core.services import Services
from server.core.templates import is_fragment_request, redirect, render
from server.domain.geo import navigation_links
from server.services.customers.customers import (
    SORTS,
    CustomerDetail,
    CustomerFilters,
    CustomerRow,
    CustomersService,
    explain,
)
from server.services.evidence.forms_review import FormsReviewService

GradeLetter = Literal["A", "B", "C", "D"]
PAGE_SIZE = 25  # rows per page on the HTML list


class CustomerOut(msgspec.Struct):
    id: UUID
    external_ref: str | None
    name: str
    status: str
    grade: str
    computed_grade: str | None
    grade_override: str | None
    grade_override_reason: str | None
    grade_override_until: date | None
    owner_rep_id: UUID | None
    owner_name: str | None
    org_unit_id: UUID
    revenue_365: Decimal | None
    revenue_share: Decimal | None
    r_score: int | None
    f_score: int | None
    m_score: int | None
    last_visit_on: date | None
    last_order_on: date | None
    address: str | None
    lat: float | None
    lng: float | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    visit_interval_days: int
    next_visit_due: date
    overdue_ratio: float
    overdue: bool
    graded_at: datetime | None


class CustomerList(msgspec.Struct):
    items: list[CustomerOut]
    total: int
    limit: int
    offset: int


class Explanation(msgspec.Struct):
    source: str  # override | computed
    richer_share: Decimal | None
    orders_365: int
    reasons: list[str]


class VisitOut(msgspec.Struct):
    id: UUID
    rep_name: str
    checked_in_at: datetime
    outcome: str | None
    geo_status: str
    notes: str | None = None
    order_amount: Decimal | None = None
    next_step: str | None = None


class PromiseOut(msgspec.Struct):
    id: UUID
    text: str
    due_on: date


class OrderOut(msgspec.Struct):
    id: UUID
    ordered_on: date
    amount: Decimal
    currency: str


class GradeChangeOut(msgspec.Struct):
    at: datetime
    old_grade: str | None
    new_grade: str
    source: str
    reason: str | None
    signal: str | None
    changed_by: str | None


class CustomerDetailOut(msgspec.Struct):
    customer: CustomerOut
    explanation: Explanation
    recent_visits: list[VisitOut]
    recent_orders: list[OrderOut]
    grade_history: list[GradeChangeOut]
    open_promises: list[PromiseOut]


class OverrideIn(msgspec.Struct, forbid_unknown_fields=True):
    """`grade_override` is always sent (null clears it); the rest only when given (msgspec.UNSET)."""

    grade_override: GradeLetter | None
    reason: Annotated[str, msgspec.Meta(max_length=500)] | msgspec.UnsetType | None = msgspec.UNSET
    until: date | msgspec.UnsetType | None = msgspec.UNSET


def customer_out(row: CustomerRow) -> CustomerOut:
    c = row.customer
    return CustomerOut(
        id=c.id, external_ref=c.external_ref, name=c.name, status=c.status, grade=c.grade,
        computed_grade=c.computed_grade, grade_override=c.grade_override,
        grade_override_reason=c.grade_override_reason, grade_override_until=c.grade_override_until,
        owner_rep_id=c.owner_rep_id, owner_name=row.owner_name, org_unit_id=c.org_unit_id,
        revenue_365=c.revenue_365, revenue_share=c.revenue_share, r_score=c.r_score, f_score=c.f_score,
        m_score=c.m_score, last_visit_on=c.last_visit_on, last_order_on=c.last_order_on,
        address=c.address, lat=c.lat, lng=c.lng, contact_name=c.contact_name,
        contact_phone=c.contact_phone, contact_email=c.contact_email,
        visit_interval_days=row.interval_days, next_visit_due=row.next_due,
        overdue_ratio=round(row.overdue_ratio, 3), overdue=row.overdue, graded_at=c.graded_at,
    )  # fmt: skip


def detail_out(detail: CustomerDetail) -> CustomerDetailOut:
    c = detail.row.customer
    return CustomerDetailOut(
        customer=customer_out(detail.row),
        explanation=Explanation(
            source="override" if c.grade_override and c.grade == c.grade_override else "computed",
            richer_share=detail.richer_share,
            orders_365=detail.orders_365,
            reasons=explain(detail),
        ),
        recent_visits=[
            VisitOut(id=v.id, rep_name=name, checked_in_at=v.checked_in_at, outcome=v.outcome,
                     geo_status=v.geo_status, notes=v.notes, order_amount=v.order_amount, next_step=v.next_step)
            for v, name in detail.visits
        ],
        recent_orders=[OrderOut(id=o.id, ordered_on=o.ordered_on, amount=o.amount, currency=o.currency) for o in detail.orders],
        grade_history=[
            GradeChangeOut(at=h.at, old_grade=h.old_grade, new_grade=h.new_grade, source=h.source,
                           reason=h.reason, signal=h.signal, changed_by=who)
            for h, who in detail.history
        ],
        open_promises=[PromiseOut(id=p.id, text=p.text, due_on=p.due_on) for p in detail.promises],
    )  # fmt: skip


CSV_COLUMNS = (
    "id", "external_ref", "name", "status", "grade", "computed_grade", "grade_override",
    "grade_override_until", "owner_name", "revenue_365", "revenue_share", "r_score", "f_score",
    "m_score", "last_visit_on", "visit_interval_days", "next_visit_due", "overdue_ratio",
)  # fmt: skip


class CustomersApi(Controller):
    path = "/api/v1/customers"
    tags = ("customers",)
    guards = (require_login,)

    @get(
        "/",
        summary="Customers in the caller's scope (JSON, or CSV with ?format=csv)",
        responses={
            200: ResponseSpec(CustomerList, description="One page of customers, or all of them as CSV")
        },
    )
    async def list_customers(
        self,
        services: Services,
        access: Scope,
        grade: GradeLetter | None = None,
        owner_rep_id: UUID | None = None,
        overdue: bool = False,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        sort: Annotated[str, Parameter(description=f"One of {', '.join(SORTS)}")] = "name",
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000_000)] = 0,
        output: Annotated[Literal["json", "csv"], QueryParameter(name="format")] = "json",
    ) -> Response[Any]:
        filters = CustomerFilters(grade=grade, owner_rep_id=owner_rep_id, overdue=overdue, q=q, sort=sort)
        customers = services.get(CustomersService)
        if output == "csv":
            everything = await customers.list(access, filters, limit=None)
            rows = (msgspec.structs.asdict(customer_out(row)) for row in everything.rows)
            return csv_response("customers", CSV_COLUMNS, rows)
        result = await customers.list(access, filters, limit, offset)
        items = [customer_out(row) for row in result.rows]
        return Response(CustomerList(items=items, total=result.total, limit=limit, offset=offset))

    @get("/{customer_id:str}", summary="One customer, with its grade explained")
    async def get_customer(self, services: Services, access: Scope, customer_id: UUID) -> CustomerDetailOut:
        detail = await services.get(CustomersService).detail(access, customer_id)
        if detail is None:
            raise not_found("Customer", customer_id)
        return detail_out(detail)

    @patch(
        "/{customer_id:str}",
        guards=[require_role("manager", "executive")],
        summary="Set or clear a grade override (managers, within their scope)",
    )
    async def override(
        self, services: Services, access: Scope, customer_id: UUID, data: OverrideIn
    ) -> CustomerDetailOut:
        customers = services.get(CustomersService)
        updated = await customers.set_override(
            access, customer_id, data.grade_override, sent(data.reason), sent(data.until)
        )
        if updated is None:
            raise not_found("Customer", customer_id)
        detail = await customers.detail(access, customer_id)
        assert detail is not None  # just read in the same transaction
        return detail_out(detail)


def _page_filters(request: Request[Any, Any, Any]) -> tuple[CustomerFilters, int]:
    """Lenient parsing for the page: a hand-edited query string falls back to defaults, not a 400."""
    params = request.query_params
    grade = params.get("grade") if params.get("grade") in ("A", "B", "C", "D") else None
    try:
        owner = UUID(params.get("owner_rep_id") or "")
    except ValueError:
        owner = None
    sort = params.get("sort") or "name"
    if sort not in SORTS:
        sort = "name"
    raw_page = params.get("page") or ""
    # ASCII digits only: "²" is a digit to str.isdigit() but not a number to int().
    page = min(int(raw_page), 1_000_000) if raw_page.isascii() and raw_page.isdigit() else 1
    q = (params.get("q") or "").strip()[:100] or None
    return CustomerFilters(grade, owner, params.get("overdue") in ("1", "true", "on"), q, sort), max(page, 1)


def _query(filters: CustomerFilters, **extra: Any) -> str:
    values = {
        "grade": filters.grade, "owner_rep_id": filters.owner_rep_id, "overdue": "true" if filters.overdue else None,
        "q": filters.q, "sort": filters.sort if filters.sort != "name" else None, **extra,
    }  # fmt: skip
    return urlencode({k: v for k, v in values.items() if v not in (None, "")})


class CustomerPages(Controller):
    path = "/customers"
    include_in_schema = False
    guards = (require_login,)

    @get("/")
    async def list_page(self, request: Request[Any, Any, Any], services: Services, access: Scope) -> Any:
        filters, page = _page_filters(request)
        customers = services.get(CustomersService)
        result = await customers.list(access, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        owners = [] if access.principal.is_rep else await customers.owners(access)
        template = "customers/_rows.html" if is_fragment_request(request) else "customers/list.html"
        return render(
            request, template, result=result, filters=filters, owners=owners, sorts=SORTS, query=_query
        )

    @get("/{customer_id:uuid}")
    async def detail_page(
        self, request: Request[Any, Any, Any], services: Services, access: Scope, customer_id: UUID
    ) -> Any:
        return await _render_detail(request, services, access, customer_id)

    @post("/{customer_id:uuid}/override", guards=[require_role("manager", "executive")])
    async def override_form(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        access: Scope,
        customer_id: UUID,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Any:
        grade = (data.get("grade_override") or "").strip() or None
        errors: dict[str, str] = {}
        if grade not in (None, "A", "B", "C", "D"):
            errors["grade_override"] = _("Choose A, B, C or D.")
        until: date | None = None
        try:
            until = date.fromisoformat(data["until"]) if data.get("until") else None
        except ValueError:
            errors["until"] = _("Enter a date.")
        if not errors:
            try:
                updated = await services.get(CustomersService).set_override(
                    access,
                    customer_id,
                    cast(GradeLetter | None, grade),  # checked against the four letters above
                    data.get("reason"),
                    until,
                )
            except ProblemError as problem:
                errors = {e["field"]: e["message"] for e in (problem.extra or {}).get("errors", [])}  # type: ignore[union-attr]
            else:
                if updated is None:
                    raise not_found("Customer", customer_id)
                message = _("Grade override saved.") if grade else _("Grade override removed.")
                return redirect(f"/customers/{customer_id}", "success", message)
        return await _render_detail(request, services, access, customer_id, errors=errors, form=data)


async def _render_detail(
    request: Request[Any, Any, Any],
    services: Services,
    access: Scope,
    customer_id: UUID,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Any:
    detail = await services.get(CustomersService).detail(access, customer_id)
    if detail is None:
        raise not_found("Customer", customer_id)
    charts = await services.get(FormsReviewService).customer_charts(
        access, customer_id, access.principal.timezone
    )
    return render(
        request,
        "customers/detail.html",
        status_code=422 if errors else 200,
        detail=detail,
        customer=detail.row.customer,
        reasons=explain(detail),
        can_override=not access.principal.is_rep,
        can_visit=access.principal.is_rep and detail.row.customer.owner_rep_id == access.principal.id,
        map_links=(
            navigation_links(detail.row.customer.lat, detail.row.customer.lng, detail.row.customer.name)
            if detail.row.customer.lat is not None and detail.row.customer.lng is not None
            else []
        ),
        errors=errors or {},
        form=form or {},
        form_charts=charts,
    )


ROUTES = [CustomersApi, CustomerPages]
