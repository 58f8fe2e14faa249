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

    def row(
        self,
        actor_id: UUID | None,
        action: str,
        entity: str,
        entity_id: UUID | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The same entry as a row of audit_log (INSERT_ENTRY's parameters), for a hot path that
        writes it with its own statements, in the same transaction (every check-out)."""
        return self._values(actor_id, action, entity, entity_id, before, after)

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


INSERT_ENTRY = insert(AuditEntry.__table__)


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v) for k, v in value.items()}
