"""Helpers shared by the check-in tests (this module holds no tests itself)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import Customer, Task
from server.domain.routing import EARTH_RADIUS_M

API = "/api/v1/checkins"


@dataclass(frozen=True)
class Place:
    id: UUID
    lat: float
    lng: float
    grade: str
    org_unit_id: UUID


async def customers_of(engine: AsyncEngine, rep_id: UUID, count: int = 1) -> list[Place]:
    """The rep's located, active customers in a stable order."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Customer.id, Customer.lat, Customer.lng, Customer.grade, Customer.org_unit_id)
            .where(Customer.owner_rep_id == rep_id, Customer.status == "active", Customer.lat.is_not(None))
            .order_by(Customer.external_ref)
            .limit(count)
        )
        return [Place(*row) for row in rows]


def north_of(place: Place, metres: float) -> tuple[float, float]:
    """A point `metres` due north (a pure latitude move: haversine gives exactly R x dphi)."""
    return place.lat + math.degrees(metres / EARTH_RADIUS_M), place.lng


def iso(instant: datetime) -> str:
    return instant.isoformat()


def checkin_body(place: Place, at: datetime, metres: float | None = 10.0, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(uuid4()), "customer_id": str(place.id), "checked_in_at": iso(at)}
    if metres is not None:
        body["lat"], body["lng"] = north_of(place, metres)
        body["accuracy_m"] = 12.0
    return body | extra


async def count_rows(engine: AsyncEngine, model: Any, *where: Any) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def add_task(
    engine: AsyncEngine,
    rep_id: UUID,
    customer_id: UUID,
    local_date: date,
    kind: str = "visit",
    status: str = "planned",
    rank: int | None = 1,
    promise_id: UUID | None = None,
) -> UUID:
    """A task as the planner (or a manager) would have written it."""
    task_id = uuid4()
    async with engine.begin() as connection:
        if status in ("planned", "snoozed"):  # one open task per (rep, day, customer, kind)
            await connection.execute(
                update(Task)
                .where(
                    Task.rep_id == rep_id,
                    Task.local_date == local_date,
                    Task.customer_id == customer_id,
                    Task.kind == kind,
                    Task.status.in_(("planned", "snoozed")),
                )
                .values(status="skipped", status_reason="duplicate")
            )
        await connection.execute(
            insert(Task).values(
                id=task_id,
                rep_id=rep_id,
                customer_id=customer_id,
                local_date=local_date,
                kind=kind,
                status=status,
                rank=rank,
                source="planner",
                promise_id=promise_id,
            )
        )
    return task_id
