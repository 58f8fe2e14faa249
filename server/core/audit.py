"""Append-only audit trail written in the same transaction as the change."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import insert

from server.core.services import Service
from server.db.models import AuditEntry


class AuditService(Service):
    async def record(
        self,
        actor_id: UUID | None,
        action: str,
        entity: str,
        entity_id: UUID | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Add an entry to the caller's transaction and flush it."""
        entry = AuditEntry(**self._values(actor_id, action, entity, entity_id, before, after))
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def append(
        self,
        actor_id: UUID | None,
        action: str,
        entity: str,
        entity_id: UUID | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """The same entry written with a plain INSERT (no ORM object, no flush, on the session's
        connection): for hot paths such as every check-out."""
        values = self._values(actor_id, action, entity, entity_id, before, after)
        await (await self.session.connection()).execute(_INSERT, values)

    def _values(
        self,
        actor_id: UUID | None,
        action: str,
        entity: str,
        entity_id: UUID | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return {
            "id": uuid4(),
            "actor_id": actor_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "before": _jsonable(before),
            "after": _jsonable(after),
            "at": self.clock.now(),
        }


_INSERT = insert(AuditEntry.__table__)


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v) for k, v in value.items()}
