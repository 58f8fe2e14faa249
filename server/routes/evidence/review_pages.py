"""Review fragments of visit forms, loaded into other areas' pages with htmx: the answers of a
rep's day (on the manager's rep-day view) and a customer's number answers over time (on the
customer page)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from markupsafe import Markup

from server.core.access import Principal, Scope
from server.core.deps import DateParam, require_login, require_role
from server.core.errors import not_found
from server.core.i18n import current_locale, format_date, format_number
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import render
from server.db.models import User
from server.domain.charts import Bar, Group, bar_chart
from server.services.evidence.forms_answers import present
from server.services.evidence.forms_review import FormsReviewService, NumberSeries


def _zh() -> bool:
    return current_locale.get().startswith("zh")


def _chart(index: int, series: NumberSeries) -> Markup:
    unit = f" {series.unit}" if series.unit else ""
    return bar_chart(
        f"form-chart-{index}",
        f"{series.label} · {series.form_name}",
        _("%(label)s at each of the last visits, oldest first.", label=series.label),
        [
            Group(format_date(day), [Bar(value, f"{format_number(value)}{unit}", "actual")])
            for day, value in series.points
        ],
    )


class FormReviewPages(Controller):
    path = "/evidence"
    include_in_schema = False

    @get("/reps/{rep_id:uuid}/answers", guards=[require_role("manager", "executive")])
    async def rep_day_answers(
        self,
        request: Request[Any, Any, Any],
        access: Scope,
        services: Services,
        rep_id: UUID,
        date: DateParam = None,
    ) -> Any:
        """The visit answers of a rep's day (the manager's rep-day view loads it)."""
        review = services.get(FormsReviewService)
        rep = await review.session.get(User, rep_id)
        if rep is None or not access.sees_user(rep.id, rep.org_unit_id):
            raise not_found("Rep", rep_id)
        day = date or review.clock.local_date(rep.timezone)
        visits = await review.rep_day(access, rep_id, day, rep.timezone, _zh())
        shown = [(visit, present(visit.forms, _zh())) for visit in visits]
        return render(request, "evidence/_rep_day_answers.html", visits=shown, rep=rep)

    @get("/customers/{customer_id:uuid}/charts", guards=[require_login])
    async def customer_charts(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        customer_id: UUID,
    ) -> Any:
        """A customer's number answers over time, one chart per question (the customer page loads it)."""
        series = await services.get(FormsReviewService).number_series(
            access, customer_id, principal.timezone, _zh()
        )
        charts = [(item, _chart(i, item)) for i, item in enumerate(series)]
        return render(request, "evidence/_customer_charts.html", charts=charts)


ROUTES = [FormReviewPages]
