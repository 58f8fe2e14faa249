"""The notification outbox: every message is first a row written in the caller's transaction.

Delivery (Web Push) happens later in the dispatcher; the in-app inbox reads the same rows, so
nothing said to a user is lost when push is unavailable.
"""

from __future__ import annotations

from datetime import time
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.db.models import Notification, OrgSettings, User
from server.domain.notify import quiet_hours_deliver_after
from server.services.base import Service


def _parse_hhmm(value: str, default: time) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        return default


class NotificationsService(Service):
    async def notify(
        self,
        user_id: UUID,
        kind: str,
        title: str,
        body: str,
        dedup_key: str,
        url: str | None = None,
        tag: str | None = None,
        data: dict[str, Any] | None = None,
        respect_quiet_hours: bool = True,
    ) -> bool:
        """Queue a notification; returns False when one with this dedup_key already exists.

        Repeats collapse on dedup_key (unique), so sweeps can call this every run safely.
        """
        now = self.clock.now()
        deliver_after = now
        if respect_quiet_hours:
            tz, quiet_start, quiet_end = await self._quiet_hours(user_id)
            deliver_after = quiet_hours_deliver_after(now, tz, quiet_start, quiet_end)
        values = {
            "user_id": user_id,
            "kind": kind,
            "title": title[:200],
            "body": body,
            "url": url,
            "tag": tag or kind,
            "dedup_key": dedup_key[:200],
            "data": data or {},
            "created_at": now,
            "deliver_after": deliver_after,
            "next_attempt_at": deliver_after,
            "status": "pending",
            "attempts": 0,
        }
        values["id"] = uuid4()
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        stmt: Any
        if dialect == "postgresql":
            stmt = (
                pg_insert(Notification).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"])
            )
        elif dialect == "sqlite":
            stmt = (
                sqlite_insert(Notification)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["dedup_key"])
            )
        else:
            stmt = insert(Notification).values(**values)
        result = await self.session.execute(stmt)
        created = bool(result.rowcount)
        if created:
            self.ctx.notifications_added = True
        return created

    async def _quiet_hours(self, user_id: UUID) -> tuple[str, time, time]:
        tz = await self.session.scalar(select(User.timezone).where(User.id == user_id)) or "UTC"
        row = (
            await self.session.execute(select(OrgSettings.quiet_start, OrgSettings.quiet_end).limit(1))
        ).first()
        if row is None:
            return tz, time(21), time(7)
        return tz, _parse_hhmm(row.quiet_start, time(21)), _parse_hhmm(row.quiet_end, time(7))
