"""The reps' days in a manager's digest, for many reps at once: today's tasks past their due time,
the unfinished tasks of the previous working day, and that day's visits (planned, done, checked in).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select

from server.core.services import Services
from server.db.models import Checkin, Customer, Task
from server.services.tasks.tasks import MOVED

NO_VISITS = {"planned": 0, "done": 0, "checkins": 0}


@dataclass(frozen=True)
class RepInfo:
    id: UUID
    name: str
    unit_id: UUID
    timezone: str


async def overdue_tasks(
    services: Services, rep_ids: list[UUID], now: datetime, today: date
) -> dict[UUID, list[dict[str, Any]]]:
    """Today's tasks still planned past their due time, per rep (earlier days are "missed")."""
    if not rep_ids:
        return {}
    rows = await services.session.execute(
        select(Task.id, Task.rep_id, Task.due_at, Task.local_date, _what())
        .outerjoin(Customer, Customer.id == Task.customer_id)
        .where(
            Task.rep_id.in_(rep_ids), Task.status == "planned", Task.due_at < now, Task.local_date >= today
        )
        .order_by(Task.due_at, Task.id)
    )
    found: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        found[row.rep_id].append(
            {
                "task_id": str(row.id),
                "what": row.what,
                "due_at": row.due_at.isoformat(),
                "local_date": row.local_date.isoformat(),
            }
        )
    return dict(found)


def _what() -> Any:
    return func.coalesce(Task.title, Customer.name, Task.kind).label("what")


async def missed_tasks(
    services: Services, rep_ids: list[UUID], days: set[date]
) -> dict[tuple[UUID, date], list[dict[str, Any]]]:
    """Each rep's unfinished tasks of the given days: missed, or still open whatever job ran first.

    A task the day-closing sweep has not reached yet (still planned, or snoozed within the day)
    counts as missed too, so the digest says the same before and after plan-day closes the day.
    """
    if not rep_ids or not days:
        return {}
    still_open = or_(
        Task.status.in_(("missed", "planned")),
        and_(Task.status == "snoozed", or_(Task.status_reason.is_(None), Task.status_reason != MOVED)),
    )
    rows = await services.session.execute(
        select(Task.id, Task.rep_id, Task.local_date, Task.kind, _what())
        .outerjoin(Customer, Customer.id == Task.customer_id)
        .where(Task.rep_id.in_(rep_ids), Task.local_date.in_(days), still_open)
        .order_by(Task.rank.is_(None), Task.rank, Task.id)
    )
    found: dict[tuple[UUID, date], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        found[(row.rep_id, row.local_date)].append(
            {"task_id": str(row.id), "what": row.what, "kind": row.kind}
        )
    return dict(found)


async def visits_by_day(
    services: Services, reps: dict[UUID, RepInfo], days: set[date]
) -> dict[tuple[UUID, date], dict[str, int]]:
    """Visit tasks planned vs done, and completed check-ins, per rep per local day."""
    if not reps or not days:
        return {}
    result: dict[tuple[UUID, date], dict[str, int]] = defaultdict(lambda: dict(NO_VISITS))
    planned = await services.session.execute(
        select(
            Task.rep_id,
            Task.local_date,
            func.count(Task.id),
            func.sum(case((Task.status == "done", 1), else_=0)),
        )
        .where(Task.rep_id.in_(list(reps)), Task.kind == "visit", Task.local_date.in_(days))
        .group_by(Task.rep_id, Task.local_date)
    )
    for rep_id, day, count, done in planned:
        result[(rep_id, day)].update(planned=int(count), done=int(done or 0))
    # Check-ins count on the rep's local day: one query per distinct time zone and day.
    by_zone: dict[str, list[UUID]] = defaultdict(list)
    for rep in reps.values():
        by_zone[rep.timezone].append(rep.id)
    for zone, ids in by_zone.items():
        for day in days:
            start = datetime.combine(day, time.min, ZoneInfo(zone)).astimezone(UTC)
            end = datetime.combine(day + timedelta(days=1), time.min, ZoneInfo(zone)).astimezone(UTC)
            rows = await services.session.execute(
                select(Checkin.rep_id, func.count(Checkin.id))
                .where(
                    Checkin.rep_id.in_(ids),
                    Checkin.checked_out_at.is_not(None),
                    Checkin.checked_in_at >= start,
                    Checkin.checked_in_at < end,
                )
                .group_by(Checkin.rep_id)
            )
            for rep_id, count in rows:
                result[(rep_id, day)]["checkins"] = int(count)
    return dict(result)
