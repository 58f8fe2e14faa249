"""First start of a real company: `fieldsales init` makes the company unit, its settings, its
default visit policy and the first admin, on an empty database."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from server.core.errors import field_error
from server.core.i18n import gettext as _
from server.core.services import Service
from server.db.models import OpportunityStage, OrgUnit, VisitPolicy
from server.domain.funnel import DEFAULT_STAGES
from server.domain.policy import DEFAULT_VISIT_INTERVALS
from server.services.admin.org_units import OrgUnitsService
from server.services.auth.users import UsersService


class SetupService(Service):
    async def init_company(
        self, *, company: str, timezone: str, admin_email: str, admin_name: str, password: str | None
    ) -> dict[str, Any]:
        """The company, default settings, visit policy and funnel stages, and the admin (with a set-password link
        when no password is given). Refused when the database already has an organisation."""
        if await self.session.scalar(select(func.count()).select_from(OrgUnit)):
            raise field_error("company", _("the database already has an organisation; use create-user"), 409)
        unit = await self.ctx.get(OrgUnitsService).create(
            None, name=company, kind="company", parent_id=None, timezone=timezone
        )
        for grade, days in DEFAULT_VISIT_INTERVALS.items():
            self.session.add(VisitPolicy(company_id=unit.id, grade=grade, interval_days=days))
        for position, stage in enumerate(DEFAULT_STAGES, start=1):
            self.session.add(
                OpportunityStage(
                    company_id=unit.id,
                    name=stage.name,
                    position=position,
                    default_probability=stage.probability,
                    kind=stage.kind,
                )
            )
        admin, link = await self.ctx.get(UsersService).create(
            None, email=admin_email, name=admin_name, role="admin", org_unit_id=unit.id, password=password
        )
        await self.session.flush()
        return {"company_id": unit.id, "admin_id": admin.id, "set_password_link": link}

    async def resolve_unit(self, name_or_id: str | None) -> UUID:
        """An org unit by id, external_ref or unique name; the company when not given."""
        if not name_or_id:
            companies = list(
                await self.session.scalars(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)))
            )
            if len(companies) != 1:
                raise field_error("org_unit", _("name the org unit (there is not exactly one company)"))
            return companies[0]
        rows = list(await self.session.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.external_ref)))
        matches = [r.id for r in rows if name_or_id in (str(r.id), r.external_ref)]
        matches = matches or [r.id for r in rows if r.name.lower() == name_or_id.lower()]
        if len(matches) != 1:
            raise field_error(
                "org_unit",
                _("%(name)s names %(n)s org units; use its id", name=repr(name_or_id), n=len(matches)),
            )
        return matches[0]
