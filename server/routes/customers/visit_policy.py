"""Visit policy: how often each grade is visited. Everyone may read it; admins change it."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.core.access import Principal
from server.core.deps import require_login, require_role
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect, render
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.services.customers.visit_policy import GRADES, VisitPolicyService

MAX_INTERVAL_DAYS = 365
IntervalDays = Annotated[int, msgspec.Meta(ge=1, le=MAX_INTERVAL_DAYS)]


class VisitIntervals(msgspec.Struct, forbid_unknown_fields=True):
    A: IntervalDays
    B: IntervalDays
    C: IntervalDays
    D: IntervalDays


class VisitPolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    intervals: VisitIntervals


class VisitPolicyOut(msgspec.Struct):
    company_id: UUID | None
    intervals: VisitIntervals
    defaults: VisitIntervals


async def _company(services: Services, principal: Principal) -> UUID:
    company_id = await services.get(VisitPolicyService).company_of(principal.org_unit_id)
    if company_id is None:
        raise ProblemError(409, "Your account belongs to no company, so it has no visit policy.")
    return company_id


async def _policy_out(services: Services, company_id: UUID | None) -> VisitPolicyOut:
    intervals = await services.get(VisitPolicyService).intervals(company_id)
    return VisitPolicyOut(
        company_id=company_id,
        intervals=VisitIntervals(**intervals),
        defaults=VisitIntervals(**DEFAULT_VISIT_INTERVALS),
    )


class VisitPolicyApi(Controller):
    path = "/api/v1/visit-policy"
    tags = ("visit policy",)
    guards = (require_login,)

    @get("/", summary="Visit interval days per grade for the caller's company")
    async def read(self, services: Services, principal: Principal) -> VisitPolicyOut:
        company_id = await services.get(VisitPolicyService).company_of(principal.org_unit_id)
        return await _policy_out(services, company_id)

    @put("/", guards=[require_role("admin")], summary="Replace the visit intervals (admins)")
    async def replace(self, services: Services, principal: Principal, data: VisitPolicyIn) -> VisitPolicyOut:
        company_id = await _company(services, principal)
        intervals = msgspec.structs.asdict(data.intervals)
        await services.get(VisitPolicyService).update(company_id, intervals, principal.id)
        return await _policy_out(services, company_id)


class VisitPolicyPages(Controller):
    path = "/admin/visit-policy"
    include_in_schema = False
    guards = (require_role("admin"),)

    @get("/")
    async def page(self, request: Request[Any, Any, Any], services: Services, principal: Principal) -> Any:
        company_id = await _company(services, principal)
        intervals = await services.get(VisitPolicyService).intervals(company_id)
        values = {grade: str(days) for grade, days in intervals.items()}
        return render(request, "customers/visit_policy.html", values=values, errors={}, **_page_context())

    @post("/")
    async def save(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        principal: Principal,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Any:
        company_id = await _company(services, principal)
        values = {grade: (data.get(grade) or "").strip() for grade in GRADES}
        errors = {
            grade: _("Enter whole days from 1 to %(max)s.", max=MAX_INTERVAL_DAYS)
            for grade, value in values.items()
            if not value.isdigit() or not 1 <= int(value) <= MAX_INTERVAL_DAYS
        }
        if errors:
            return render(
                request,
                "customers/visit_policy.html",
                status_code=422,
                values=values,
                errors=errors,
                **_page_context(),
            )
        intervals: dict[str, int] = {grade: int(value) for grade, value in values.items()}
        await services.get(VisitPolicyService).update(company_id, intervals, principal.id)
        return redirect("/admin/visit-policy", "success", _("Visit policy saved."))


def _page_context() -> dict[str, Any]:
    return {"grades": GRADES, "defaults": DEFAULT_VISIT_INTERVALS, "max_days": MAX_INTERVAL_DAYS}


ROUTES = [VisitPolicyApi, VisitPolicyPages]
