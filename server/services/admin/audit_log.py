"""Search the audit log: who changed what, when (admins and executives)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from server.core.services import Service
from server.db.models import AuditEntry, User

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None  # part of the actor's name or e-mail
    action: str | None = None  # an action or its prefix: "user." finds every user change
    entity: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor_name: str | None
    actor_email: str | None
    action: str
    entity: str
    entity_id: Any
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditLogService(Service):
    async def search(self, filters: AuditFilters, page: int = 1) -> tuple[list[AuditRow], int]:
        """One page of matching entries, newest first, and the number of matches."""
        query = select(AuditEntry, User.name, User.email).outerjoin(User, User.id == AuditEntry.actor_id)
        conditions: list[Any] = []
        if filters.actor:
            like = f"%{filters.actor.lower()}%"
            conditions.append(or_(func.lower(User.name).like(like), func.lower(User.email).like(like)))
        if filters.action:
            conditions.append(AuditEntry.action.like(f"{filters.action}%"))
        if filters.entity:
            conditions.append(AuditEntry.entity == filters.entity)
        if filters.since:
            conditions.append(AuditEntry.at >= datetime.combine(filters.since, time(), UTC))
        if filters.until:
            conditions.append(
                AuditEntry.at < datetime.combine(filters.until + timedelta(days=1), time(), UTC)
            )
        query = query.where(*conditions)
        total = await self.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .outerjoin(User, User.id == AuditEntry.actor_id)
            .where(*conditions)
        )
        rows = await self.session.execute(
            query.order_by(AuditEntry.at.desc(), AuditEntry.id)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
        found = [
            AuditRow(e.at, name, email, e.action, e.entity, e.entity_id, e.before, e.after)
            for e, name, email in rows
        ]
        return found, int(total or 0)
