"""The org tree an admin shapes: create, rename, move, time zone, manager; no cycles; a unit with
people or customers is never deleted."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select

from server.core.audit import AuditService
from server.core.errors import field_error, not_found
from server.core.i18n import gettext as _
from server.core.org import ancestors_cte
from server.core.services import Service
from server.db.models import Customer, Holiday, OrgSettings, OrgUnit, Target, User
from server.services.auth.users import check_timezone

KINDS = ("company", "region", "team")


class OrgUnitsService(Service):
    async def list(self) -> list[OrgUnit]:
        return list((await self.session.scalars(select(OrgUnit).order_by(OrgUnit.name))).all())

    async def get(self, unit_id: UUID) -> OrgUnit:
        unit = await self.session.get(OrgUnit, unit_id)
        if unit is None:
            raise not_found("Org unit", unit_id)
        return unit

    async def people(self, unit_id: UUID) -> int:
        query = (
            select(func.count()).select_from(User).where(User.org_unit_id == unit_id, User.active.is_(True))
        )
        return int(await self.session.scalar(query) or 0)

    async def create(
        self,
        actor_id: UUID | None,
        *,
        name: str,
        kind: str,
        parent_id: UUID | None,
        timezone: str | None = None,
        manager_user_id: UUID | None = None,
    ) -> OrgUnit:
        """A new unit; only a company has no parent (a new company gets default settings)."""
        if kind not in KINDS:
            raise field_error("kind", _("must be one of %(choices)s", choices=", ".join(KINDS)))
        parent = await self.get(parent_id) if parent_id else None
        if parent_id and parent is None:
            raise field_error("parent_id", _("no such org unit"))
        if kind == "company" and parent is not None:
            raise field_error("parent_id", _("a company has no parent"))
        if kind != "company" and parent is None:
            raise field_error("parent_id", _("is required for a region or a team"))
        unit = OrgUnit(
            name=_name(name),
            kind=kind,
            parent_id=parent.id if parent else None,
            timezone=check_timezone(timezone or (parent.timezone if parent else "UTC")),
            manager_user_id=await self._manager(manager_user_id),
        )
        self.session.add(unit)
        await self.session.flush()
        if kind == "company":
            self.session.add(OrgSettings(company_id=unit.id))
            await self.session.flush()
        await self.ctx.get(AuditService).record(
            actor_id, "org_unit.created", "org_unit", unit.id, after=_public(unit)
        )
        return unit

    async def update(self, actor_id: UUID | None, unit: OrgUnit, changes: dict[str, Any]) -> OrgUnit:
        """Rename, move under another parent (never under itself or its own subtree), set the time
        zone or the manager."""
        before = _public(unit)
        if "name" in changes:
            unit.name = _name(changes["name"])
        if "timezone" in changes:
            unit.timezone = check_timezone(changes["timezone"])
        if "manager_user_id" in changes:
            unit.manager_user_id = await self._manager(changes["manager_user_id"])
        if "parent_id" in changes and changes["parent_id"] != unit.parent_id:
            await self._move(unit, changes["parent_id"])
        await self.session.flush()
        if _public(unit) != before:
            await self.ctx.get(AuditService).record(
                actor_id, "org_unit.updated", "org_unit", unit.id, before, _public(unit)
            )
        return unit

    async def delete(self, actor_id: UUID | None, unit: OrgUnit) -> None:
        """Remove an empty unit: no sub-units, no users (active or not), no customers, no targets."""
        checks = (
            (select(func.count()).select_from(OrgUnit).where(OrgUnit.parent_id == unit.id), _("it has sub-units")),
            (select(func.count()).select_from(User).where(User.org_unit_id == unit.id), _("people belong to it: move or deactivate them first")),
            (select(func.count()).select_from(Customer).where(Customer.org_unit_id == unit.id), _("customers belong to it")),
            (select(func.count()).select_from(Target).where(Target.scope == "org_unit", Target.scope_id == unit.id), _("it has targets")),
        )  # fmt: skip
        for query, reason in checks:
            if await self.session.scalar(query):
                raise field_error("org_unit_id", _("cannot delete this unit: %(reason)s", reason=reason), 409)
        await self.session.execute(delete(Holiday).where(Holiday.org_unit_id == unit.id))
        await self.ctx.get(AuditService).record(
            actor_id, "org_unit.deleted", "org_unit", unit.id, _public(unit)
        )
        await self.session.delete(unit)
        await self.session.flush()

    async def _move(self, unit: OrgUnit, parent_id: UUID | None) -> None:
        if unit.kind == "company":
            raise field_error("parent_id", _("a company stays at the top of its tree"))
        if parent_id is None:
            raise field_error("parent_id", _("is required for a region or a team"))
        parent = await self.session.get(OrgUnit, parent_id)
        if parent is None:
            raise field_error("parent_id", _("no such org unit"))
        chain = ancestors_cte(parent.id)
        if await self.session.scalar(select(chain.c.id).where(chain.c.id == unit.id)) is not None:
            raise field_error("parent_id", _("would make a cycle: the new parent is this unit or below it"))
        unit.parent_id = parent.id

    async def _manager(self, user_id: UUID | None) -> UUID | None:
        if user_id is None:
            return None
        user = await self.session.get(User, user_id)
        if user is None or not user.active or user.role == "rep":
            raise field_error("manager_user_id", _("must be an active manager, executive or admin"))
        return user.id


def _name(name: Any) -> str:
    text = str(name or "").strip()
    if not text:
        raise field_error("name", _("is required"))
    return text[:200]


def _public(unit: OrgUnit) -> dict[str, Any]:
    return {
        "name": unit.name, "kind": unit.kind, "parent_id": unit.parent_id,
        "timezone": unit.timezone, "manager_user_id": unit.manager_user_id,
    }  # fmt: skip
