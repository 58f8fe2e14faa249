"""Forecast cards for the progress page and the org view: the latest forecast of the period under
way (month and quarter) with its band chart, plan, track record line and "projected to miss"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from markupsafe import Markup

from server.core.i18n import gettext as _
from server.core.services import Service
from server.domain.forecast import month_key, quarter_key
from server.domain.forecast_chart import band_chart
from server.services.forecasts.queries import ForecastQueries, ForecastView

LEVEL_NAMES = {"rep": "rep", "team": "team", "region": "region", "company": "company"}


@dataclass
class ForecastCard:
    period: str
    label: str
    view: ForecastView
    chart: Markup
    track_record: str | None


def track_record_line(accuracy: dict[str, Any] | None) -> str | None:
    """'This forecast's month forecasts were within ±8% in 8 of 10 cases over the last 12 months.'"""
    if not accuracy or accuracy.get("within") is None or not accuracy.get("months"):
        return None
    pct = f"{accuracy['within'] * 100:.0f}%"
    if accuracy.get("own"):
        return _(
            "Track record: month forecasts here were within ±%(pct)s in 8 of 10 of the last %(months)s months.",
            pct=pct,
            months=accuracy["months"],
        )
    return _(
        "This level's month forecasts were within ±%(pct)s in 8 of 10 cases over the last %(months)s months.",
        pct=pct,
        months=accuracy["months"],
    )


class ForecastCards(Service):
    async def for_scope(self, scope: str, scope_id: UUID, as_of: date) -> list[ForecastCard]:
        queries = self.ctx.get(ForecastQueries)
        cards = []
        for period, label, granularity in (
            (month_key(as_of), _("Forecast this month"), "month"),
            (quarter_key(as_of), _("Forecast this quarter"), "quarter"),
        ):
            view = await queries.latest(scope, scope_id, period)
            if view is None:
                continue
            row = view.row
            description = _(
                "Forecast %(point)s (80%% interval %(low)s to %(high)s); actual so far %(actual)s; plan %(plan)s.",
                point=f"{row.point:,.2f}",
                low=f"{row.low:,.2f}",
                high=f"{row.high:,.2f}",
                actual=f"{row.actual_to_date:,.2f}",
                plan=f"{view.plan:,.2f}" if view.plan is not None else "–",
            )
            chart = band_chart(
                f"forecast-{granularity}",
                label,
                description,
                actual=row.actual_to_date,
                point=row.point,
                low=row.low,
                high=row.high,
                plan=view.plan,
            )
            cards.append(ForecastCard(period, label, view, chart, track_record_line(view.accuracy)))
        return cards
