"""Nightly regrade of every customer, then a note to the manager of each customer that lost its A."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.core.i18n import gettext as _
from server.core.org import OrgTree
from server.core.services import Services
from server.db.models import User
from server.jobs.registry import job
from server.services.customers.grading import GradeDrop, GradingService
from server.services.notifications.outbox import NotificationsService


# The slot is the UTC day. Ticks at 18:30 .. 23:30 UTC: the first one claims the day and does
# the work; the later ones catch up a day whose 18:30 tick was missed (process down).
@job("grade-customers", cron={"hour": "18-23", "minute": 30}, slot_seconds=86400)
async def run(services: Services, at: datetime) -> dict[str, Any]:
    """Regrade customers: ABC by revenue share, RFM scores, visit cadence, expired overrides."""
    result = await services.get(GradingService).regrade_all()
    return {
        "companies": result.companies,
        "changed": result.changed,
        "grade_changes": result.grade_changes,
        "drops_from_a": len(result.drops),
        "notified": await notify_drops(services, result.drops),
    }


async def notify_drops(services: Services, drops: list[GradeDrop]) -> int:
    """Tell the owning rep's manager about each drop from A: one note per customer per day."""
    if not drops:
        return 0
    session = services.session
    tree = await OrgTree.load(session)
    owners = {drop.owner_rep_id for drop in drops} - {None}
    rep_unit = dict(
        (await session.execute(select(User.id, User.org_unit_id).where(User.id.in_(owners)))).tuples().all()
    )
    notifications = services.get(NotificationsService)
    sent = 0
    for drop in drops:
        start = rep_unit.get(drop.owner_rep_id) if drop.owner_rep_id else None
        manager = tree.manager_above(start or drop.org_unit_id, skip={drop.owner_rep_id})
        if manager is not None:
            sent += await notifications.notify(
                manager,
                "grade_drop",
                _("%(customer)s dropped from grade A to %(grade)s", customer=drop.name, grade=drop.grade),
                _("Its revenue over the last 365 days no longer puts it among the top accounts."),
                dedup_key=f"grade-drop:{drop.customer_id}:{drop.graded_on.isoformat()}",
                url=f"/customers/{drop.customer_id}",
                tag="grade-drop",
            )
    return sent
