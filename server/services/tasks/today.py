"""The rep's Today page as one view: their day (TasksService.today), whether it is a day off, what
every stop needs for a visit without a signal, and the rep's open visits.

Rendered at "/" by server/routes/system/home.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from server.core.services import Service
from server.domain.calendar import local_date
from server.domain.geo import DEFAULT_RADIUS_M
from server.services.checkins.amounts import DEFAULT_CEILING, OrderAmountsService
from server.services.checkins.reads import OpenVisit
from server.services.checkins.visits import CheckinsService
from server.services.reviews.rep_plan_views import DueItem, RepPlanViews
from server.services.tasks.tasks import DayView, TasksService


@dataclass
class TodayView:
    day: DayView
    day_off: bool = False
    # What every stop needs for a visit offline; stored on the phone by tasks.js (docs/pwa.md).
    stops: list[dict[str, Any]] = field(default_factory=list)
    # Open visits begun today: in progress, shown on their card (by task, else by customer) ...
    open_by_task: dict[UUID, OpenVisit] = field(default_factory=dict)
    open_by_customer: dict[UUID, OpenVisit] = field(default_factory=dict)
    # ... or, with no open card of theirs, listed above the cards.
    in_progress_elsewhere: list[OpenVisit] = field(default_factory=list)
    # Open visits begun on an earlier day: left open, listed to be closed.
    left_open: list[OpenVisit] = field(default_factory=list)
    # To-dos of the rep's own weekly plan due today (or overdue and open), ticked on the page.
    plan_items: list[DueItem] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        """The template context of tasks/today.html."""
        return {
            "day": self.day,
            "day_off": self.day_off,
            "stops": self.stops,
            "open_by_task": self.open_by_task,
            "open_by_customer": self.open_by_customer,
            "in_progress_elsewhere": self.in_progress_elsewhere,
            "left_open": self.left_open,
            "plan_items": self.plan_items,
        }


class TodayService(Service):
    async def view(self, rep_id: UUID) -> TodayView:
        """The rep's Today; makes the plan on the spot if it is due (never for a day off)."""
        day = await self.ctx.get(TasksService).today(rep_id)
        rep = day.rep
        day_off = day.plan is None and await self.ctx.get(TasksService).is_day_off(rep, day.local_date)
        checkins = self.ctx.get(CheckinsService)
        settings = await checkins.org_settings(rep.org_unit_id) if rep.org_unit_id else None
        radius = int(settings.checkin_radius_m) if settings else int(DEFAULT_RADIUS_M)
        visits = await checkins.open_visits(rep.id)
        customer_ids = {item.task.customer_id for item in day.items if item.task.customer_id}
        largest = await self.ctx.get(OrderAmountsService).largest_recent(customer_ids, day.local_date)
        ceiling = settings.order_amount_ceiling if settings else DEFAULT_CEILING
        today = [v for v in visits if local_date(v.checked_in_at, rep.timezone) == day.local_date]
        return TodayView(
            day=day,
            day_off=day_off,
            stops=offline_stops(day, radius, largest, ceiling),
            open_by_task={visit.task_id: visit for visit in today if visit.task_id},
            open_by_customer={visit.customer_id: visit for visit in today},
            in_progress_elsewhere=[v for v in today if not _on_card(day, v)],
            left_open=[v for v in visits if v not in today],
            plan_items=await self.ctx.get(RepPlanViews).due_today(rep.id, rep.timezone, day.local_date),
        )


def offline_stops(
    view: DayView, radius_m: int, largest: dict[UUID, Decimal], ceiling: Decimal
) -> list[dict[str, Any]]:
    """Everything a visit at each of the day's stops needs offline (docs/pwa.md)."""
    return [
        {
            "task_id": str(item.task.id),
            "customer_id": str(item.task.customer_id),
            "local_date": view.local_date.isoformat(),
            "kind": item.task.kind,
            "title": item.task.title or "",
            "customer": {
                "name": item.customer_name or "",
                "address": item.address or "",
                "lat": item.lat,
                "lng": item.lng,
                "radius_m": radius_m,
                # For "Did you mean …?" offline: the customer's largest order of 365 days.
                "largest_order": str(largest.get(item.task.customer_id, Decimal(0))),
                "ceiling": str(ceiling),
                "grade": item.grade,  # which visit forms apply (web/static/js/visitforms.js)
            },
        }
        for item in view.items
        if item.task.customer_id is not None
    ]


def _on_card(view: DayView, visit: OpenVisit) -> bool:
    """Whether an open visit shows on one of today's open cards (else it is listed to be closed)."""
    return any(
        item.is_open and (item.task.id == visit.task_id or item.task.customer_id == visit.customer_id)
        for item in view.items
    )
