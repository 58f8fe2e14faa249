"""Create next months' partitions of the partitioned tables ahead of time (PostgreSQL only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.core.services import Services
from server.db.partitions import ensure_partitions
from server.jobs.registry import job


@job("partitions", cron={"hour": 2, "minute": 41}, slot_seconds=86400)
async def partitions(services: Services, at: datetime) -> dict[str, Any]:
    """Monthly partitions for this month and the next three (a no-op on SQLite)."""
    connection = await services.session.connection()
    return {"created": await ensure_partitions(connection, at.date())}
