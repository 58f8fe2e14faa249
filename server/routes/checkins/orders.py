"""Orders API: record actuals (idempotent by external_ref) and list them (JSON or CSV)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter, QueryParameter

from server.core.access import Principal, Scope
from server.core.csv import csv_or_json
from server.core.deps import require_login, require_role
from server.core.services import Services
from server.db.models import Order
from server.services.checkins.amounts import OrderAmountsService
from server.services.checkins.orders import OrdersService

ORDER_COLUMNS = (
    "id", "external_ref", "customer_id", "rep_id", "amount", "currency", "ordered_on", "source", "created_at",
    "corrects_order_id", "correction_reason", "amount_confirmed",
)  # fmt: skip


class OrderIn(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: UUID
    amount: Decimal
    ordered_on: date
    external_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    rep_id: UUID | None = None
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] = "USD"


class CorrectionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A correcting entry: the amount to add (negative for a credit note) and why."""

    amount: Decimal
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


def order_out(order: Order) -> dict[str, Any]:
    return {column: getattr(order, column) for column in ORDER_COLUMNS}


class OrdersApi(Controller):
    path = "/api/v1/orders"
    tags = ("orders",)
    guards = (require_login,)

    @post(
        "/",
        guards=[require_role("manager", "admin")],
        summary="Record an order; the same external_ref again updates it or changes nothing (200)",
        responses={
            201: ResponseSpec(dict[str, Any], description="Recorded"),
            200: ResponseSpec(dict[str, Any], description="The external_ref was known: updated or unchanged"),
        },
    )
    async def create(
        self, principal: Principal, access: Scope, services: Services, data: OrderIn
    ) -> Response[dict[str, Any]]:
        order, outcome = await services.get(OrdersService).upsert(
            principal, access, msgspec.structs.asdict(data)
        )
        return Response(
            {**order_out(order), "outcome": outcome}, status_code=201 if outcome == "created" else 200
        )

    @post(
        "/{order_id:uuid}/corrections",
        status_code=201,
        summary="Correct an order by a new entry referencing it (negative: a credit note); the rep "
        "within 24 h of the order, their manager any time; audited",
    )
    async def correct(
        self, principal: Principal, access: Scope, services: Services, order_id: UUID, data: CorrectionIn
    ) -> dict[str, Any]:
        entry, total = await services.get(OrderAmountsService).correct(
            principal, access, order_id, data.amount, data.reason
        )
        return {**order_out(entry), "corrected_total": total}

    @get("/", summary="Orders in the caller's scope (CSV with ?format=csv or Accept: text/csv)")
    async def list_orders(
        self,
        request: Request[Any, Any, Any],
        access: Scope,
        services: Services,
        customer_id: UUID | None = None,
        rep_id: UUID | None = None,
        date_from: Annotated[date | None, QueryParameter(name="from")] = None,
        date_to: Annotated[date | None, QueryParameter(name="to")] = None,
        limit: Annotated[int, Parameter(ge=1, le=5000)] = 500,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000_000)] = 0,
        output: Annotated[Literal["json", "csv"] | None, QueryParameter(name="format")] = None,
    ) -> Response[Any]:
        filters = []
        if customer_id is not None:
            filters.append(Order.customer_id == customer_id)
        if rep_id is not None:
            filters.append(Order.rep_id == rep_id)
        if date_from is not None:
            filters.append(Order.ordered_on >= date_from)
        if date_to is not None:
            filters.append(Order.ordered_on <= date_to)
        orders = await services.get(OrdersService).list(access, filters, limit, offset)
        return csv_or_json(request, output, "orders", ORDER_COLUMNS, [order_out(o) for o in orders])


ROUTES = [OrdersApi]
