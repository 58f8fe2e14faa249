"""Append-only audit trail written in the same transaction as the change."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from server.db.models import AuditEntry
from server.services.base import Service


class AuditService(Service):
    async def record(
        self,
        actor_id: UUID | None,
        action: str,
        entity: str,
        entity_id: UUID | None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        flush: bool = True,
    ) -> AuditEntry:
        """Add an entry to the caller's transaction; flush=False leaves it to the next flush
        (a caller writing several rows pays for one flush instead of one per row)."""
        entry = AuditEntry(
            actor_id=actor_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=_jsonable(before),
            after=_jsonable(after),
            at=self.clock.now(),
        )
        self.session.add(entry)
        if flush:
            await self.session.flush()
        return entry


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v) for k, v in value.items()}
