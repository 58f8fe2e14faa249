"""Check-in API (/api/v1/checkins); the phone pages are in pages.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter, QueryParameter

from server.core.access import Principal, Scope
from server.core.deps import require_login, require_role
from server.core.errors import PROBLEM, field_error
from server.core.services import Services
from server.db.models import Checkin
from server.domain.checkin import CheckinIn, CheckoutIn
from server.services.checkins.visits import CheckinRecord, CheckinsService
from server.services.evidence.forms_answers import VisitAnswersService

REPLAYED = {"Idempotent-Replayed": "true"}  # tells the client nothing changed this time


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(dict[str, Any], description=description, media_type=PROBLEM, generate_examples=False)


WRITE_RESPONSES = {
    404: _problem("The customer, task or check-in is not the caller's (or does not exist)"),
    409: _problem("This id was already accepted with a different body; `conflicting_fields` names them"),
    422: _problem("A rule was broken; `errors` names each field"),
}


class CheckinOut(msgspec.Struct):
    """A check-in as stored, with the order and promise its check-out created."""

    id: UUID
    rep_id: UUID
    customer_id: UUID
    task_id: UUID | None
    checked_in_at: datetime
    received_at: datetime
    lat: float | None
    lng: float | None
    accuracy_m: float | None
    distance_m: float | None
    geo_status: str
    flags: list[str]
    status: str  # open | completed | closed_by_next_visit
    checked_out_at: datetime | None
    outcome: str | None
    order_amount: Decimal | None
    notes: str | None
    next_step: str | None
    next_step_due: date | None
    order_id: UUID | None
    promise_id: UUID | None
    closed_by_checkin_id: UUID | None = None
    # The visit forms' answers, each with the questions of the version answered (GET and check-out).
    answers: list[dict[str, Any]] = msgspec.field(default_factory=list)

    @classmethod
    def of(cls, record: CheckinRecord) -> CheckinOut:
        c = record.checkin
        return cls(
            id=c.id,
            rep_id=c.rep_id,
            customer_id=c.customer_id,
            task_id=c.task_id,
            checked_in_at=c.checked_in_at,
            received_at=c.received_at,
            lat=_float(c.lat),
            lng=_float(c.lng),
            accuracy_m=_float(c.accuracy_m),
            distance_m=None if c.distance_m is None else round(c.distance_m, 1),
            geo_status=c.geo_status,
            flags=list(c.flags or []),
            status=_status(c),
            checked_out_at=c.checked_out_at,
            outcome=c.outcome,
            order_amount=c.order_amount,
            notes=c.notes,
            next_step=c.next_step,
            next_step_due=c.next_step_due,
            order_id=record.order_id,
            promise_id=record.promise_id,
            closed_by_checkin_id=c.closed_by_checkin_id,
        )


def _status(checkin: Checkin) -> str:
    """open | completed | closed_by_next_visit (left open, closed when the rep checked in at the
    next customer; its check-out is still accepted)."""
    if checkin.checked_out_at is None:
        return "open"
    return "completed" if checkin.checkout_hash is not None else "closed_by_next_visit"


def _float(value: float | None) -> float | None:
    # SQLite stores a whole REAL as an integer and RETURNING hands it back as one (12 for 12.0).
    return None if value is None else float(value)


def _day(name: str, value: str | None) -> date | None:
    # Parsed here rather than by Litestar, whose error would name the Python argument, not `from`.
    try:
        return None if value is None else date.fromisoformat(value)
    except ValueError:
        raise field_error(name, "must be a date (YYYY-MM-DD)", 400) from None


async def _with_answers(services: Services, record: CheckinRecord) -> CheckinOut:
    out = CheckinOut.of(record)
    out.answers = (await services.get(VisitAnswersService).for_checkins([record.checkin.id])).get(out.id, [])
    return out


class CheckinsApi(Controller):
    path = "/api/v1/checkins"
    tags = ("checkins",)
    guards = (require_login,)

    @post(
        "/",
        guards=[require_role("rep")],
        status_code=201,
        summary="Check in at a customer (201 first time, 200 for a replay of the same body, 409 otherwise)",
        responses={
            200: ResponseSpec(CheckinOut, description="A replay: the stored record, unchanged"),
            **WRITE_RESPONSES,
        },
    )
    async def check_in(
        self, principal: Principal, access: Scope, services: Services, data: CheckinIn
    ) -> Response[CheckinOut]:
        record, created = await services.get(CheckinsService).check_in(principal, access, data)
        headers = None if created else REPLAYED
        return Response(CheckinOut.of(record), status_code=201 if created else 200, headers=headers)

    @post(
        "/{checkin_id:str}/checkout",
        guards=[require_role("rep")],
        status_code=200,
        summary="Check out with the visit's outcome (a replay of the same body changes nothing)",
        responses=WRITE_RESPONSES,
    )
    async def check_out(
        self, principal: Principal, services: Services, checkin_id: UUID, data: CheckoutIn
    ) -> Response[CheckinOut]:
        record, first = await services.get(CheckinsService).check_out(principal, checkin_id, data)
        if first and not data.answers:  # answers are stored only by a check-out: there are none
            return Response(CheckinOut.of(record))
        return Response(await _with_answers(services, record), headers=None if first else REPLAYED)

    @get("/", summary="Check-ins in the caller's scope, newest first (dates in the caller's time zone)")
    async def list_checkins(
        self,
        principal: Principal,
        access: Scope,
        services: Services,
        rep_id: UUID | None = None,
        customer_id: UUID | None = None,
        from_date: Annotated[str | None, QueryParameter(name="from", description="YYYY-MM-DD")] = None,
        to_date: Annotated[str | None, QueryParameter(name="to", description="YYYY-MM-DD")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000_000)] = 0,
    ) -> list[CheckinOut]:
        first, last = _day("from", from_date), _day("to", to_date)
        records = await services.get(CheckinsService).list(
            access, principal.timezone, rep_id, customer_id, first, last, limit, offset
        )
        return [CheckinOut.of(record) for record in records]

    @get("/{checkin_id:str}", summary="One check-in (404 outside the caller's scope)")
    async def get_checkin(self, access: Scope, services: Services, checkin_id: UUID) -> CheckinOut:
        return await _with_answers(services, await services.get(CheckinsService).get(access, checkin_id))


ROUTES = [CheckinsApi]
