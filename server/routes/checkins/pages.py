"""The phone's visit pages: check in at a customer (and its offline shell), then the visit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get

from server.core.access import Principal, Scope
from server.core.deps import require_login, require_role
from server.core.i18n import current_locale
from server.core.services import Services
from server.core.templates import render
from server.db.models import Customer
from server.domain.calendar import local_date
from server.domain.geo import DEFAULT_RADIUS_M
from server.services.checkins.amounts import DEFAULT_CEILING, OrderAmountsService
from server.services.checkins.reads import outcomes_of
from server.services.checkins.visits import CheckinsService
from server.services.evidence.forms import VisitFormsService
from server.services.evidence.forms_answers import VisitAnswersService, present


async def _radius(checkins: CheckinsService, unit_id: UUID) -> int:
    settings = await checkins.org_settings(unit_id)
    return int(settings.checkin_radius_m) if settings else int(DEFAULT_RADIUS_M)


async def _amount_limits(services: Services, customer: Customer, tz: str) -> dict[str, Any]:
    """What the page needs to ask "Did you mean …?" before sending (the server checks again)."""
    checkins = services.get(CheckinsService)
    settings = await checkins.org_settings(customer.org_unit_id)
    amounts = services.get(OrderAmountsService)
    largest = (await amounts.largest_recent([customer.id], checkins.clock.local_date(tz))).get(customer.id)
    ceiling = settings.order_amount_ceiling if settings else DEFAULT_CEILING
    return {"largest_order": largest or 0, "amount_ceiling": ceiling}


async def _answers(services: Services, checkin_id: UUID) -> list[dict[str, Any]]:
    zh = current_locale.get().startswith("zh")
    answers = await services.get(VisitAnswersService).for_checkins([checkin_id], zh)
    return present(answers.get(checkin_id, []), zh)


class CheckinPages(Controller):
    path = "/checkins"
    include_in_schema = False

    @get("/new", guards=[require_role("rep")])
    async def new(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        customer_id: UUID,
        task_id: UUID | None = None,
    ) -> Any:
        """The "Check in here" page; it also carries the outcome form for a visit begun offline."""
        checkins = services.get(CheckinsService)
        customer = await checkins.customer_in_scope(access, customer_id)
        task = await checkins.task_for_visit(principal, task_id, customer_id) if task_id else None
        # Checked in here already (on another phone, or before the browser was cleared): resume.
        open_visit = next(
            (v for v in await checkins.open_visits(principal.id) if v.customer_id == customer.id), None
        )
        return render(
            request,
            "checkins/new.html",
            customer=customer,
            task=task,
            open_visit=open_visit,
            outcomes=await checkins.outcomes_for(customer),
            radius_m=await _radius(checkins, customer.org_unit_id),
            visit_forms=await services.get(VisitFormsService).assigned_to(customer),
            **await _amount_limits(services, customer, principal.timezone),
        )

    @get("/shell", guards=[require_role("rep")])
    async def shell(self, request: Request[Any, Any, Any], principal: Principal, services: Services) -> Any:
        """The check-in page for no customer in particular: Today saves it on the phone, and the
        service worker serves it offline for any stop, which checkin.js fills from the stop
        stored on the phone (docs/pwa.md, "Offline visits")."""
        checkins = services.get(CheckinsService)
        unit_id = principal.org_unit_id
        settings = await checkins.org_settings(unit_id) if unit_id else None
        forms = services.get(VisitFormsService)
        # Every active form: checkin.js keeps those assigned to the stop's grade (visitforms.js).
        visit_forms = await forms.for_company(await forms.company_of_unit(unit_id)) if unit_id else []
        return render(
            request,
            "checkins/new.html",
            customer=None,
            task=None,
            open_visit=None,
            outcomes=outcomes_of(settings),
            radius_m=int(settings.checkin_radius_m) if settings else int(DEFAULT_RADIUS_M),
            visit_forms=visit_forms,
        )

    @get("/{checkin_id:str}", guards=[require_login])
    async def visit(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        checkin_id: UUID,
    ) -> Any:
        """The visit: where the check-in landed, and the outcome form until checked out."""
        checkins = services.get(CheckinsService)
        record = await checkins.get(access, checkin_id)
        customer = await checkins.customer(record.checkin.customer_id)
        return render(
            request,
            "checkins/show.html",
            checkin=record.checkin,
            record=record,
            customer=customer,
            outcomes=await checkins.outcomes_for(customer),
            visit_date=local_date(record.checkin.checked_in_at, principal.timezone),
            can_check_out=record.checkin.rep_id == principal.id and record.checkin.checkout_hash is None,
            visit_forms=await services.get(VisitFormsService).assigned_to(customer),
            answers=await _answers(services, checkin_id),
            **await _amount_limits(services, customer, principal.timezone),
        )


ROUTES = [CheckinPages]
