"""Bulk user import from a table (CSV or .xlsx): every row checked first, then all or nothing.

Columns: email, name, role, org_unit (name, external_ref or id) required; timezone, locale,
daily_capacity optional. Each new user gets a one-time set-password link in the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.services import Service
from server.db.models import OrgUnit, User
from server.db.models.users import ROLES
from server.services.admin.import_rows import ImportReport
from server.services.admin.imports import parse_table
from server.services.auth.users import UsersService

COLUMNS = {"email": True, "name": True, "role": True, "org_unit": True, "timezone": False, "locale": False,
           "daily_capacity": False}  # fmt: skip


@dataclass
class UserImportReport(ImportReport):
    links: list[dict[str, str]] = field(default_factory=list)


class UserImportService(Service):
    async def run(self, actor_id: UUID | None, table: list[list[str]]) -> UserImportReport:
        report = UserImportReport("users")
        rows = parse_table(table, COLUMNS, report)
        if report.errors:
            return report
        units = await self._units()
        emails = {r["email"].lower() for _, r in rows}
        taken = set(
            await self.session.scalars(
                select(func.lower(User.email)).where(func.lower(User.email).in_(emails))
            )
        )
        seen: set[str] = set()
        checked: list[tuple[int, dict[str, Any]]] = []
        for number, row in rows:
            email = row["email"].lower()
            problems = []
            if email in taken:
                problems.append(("email", _("is already used by another user")))
            if email in seen:
                problems.append(("email", _("appears twice in the file")))
            seen.add(email)
            if row["role"] not in ROLES:
                problems.append(("role", _("must be one of %(choices)s", choices=", ".join(ROLES))))
            unit = units.get(row["org_unit"].lower())
            if unit is None:
                problems.append(("org_unit", _("no such org unit (name, external_ref or id)")))
            capacity = row.get("daily_capacity") or "8"
            if not capacity.isdigit() or not 1 <= int(capacity) <= 30:
                problems.append(("daily_capacity", _("must be a whole number from 1 to 30")))
            for name, message in problems:
                report.reject(number, name, message)
            if not problems:
                checked.append((number, {
                    "email": email, "name": row["name"], "role": row["role"], "org_unit_id": unit,
                    "timezone": row.get("timezone") or None, "locale": row.get("locale") or None,
                    "daily_capacity": int(capacity),
                }))  # fmt: skip
        if report.errors:
            return report
        users = self.ctx.get(UsersService)
        created: list[tuple[int, User, str | None]] = []
        for number, values in checked:
            try:
                user, link = await users.create(actor_id, **values)
            except ProblemError as problem:  # e.g. an unknown time zone: reported per row
                for error in (problem.extra or {}).get("errors", []):  # type: ignore[union-attr]
                    report.reject(number, error["field"], error["message"])
                continue
            created.append((number, user, link))
        if report.errors:
            return report  # the caller's transaction rolls back: nothing half-imported
        report.created = len(created)
        report.links = [{"email": user.email, "set_password_link": link or ""} for _, user, link in created]
        return report

    async def _units(self) -> dict[str, UUID]:
        rows = (await self.session.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.external_ref))).all()
        names: dict[str, list[UUID]] = {}
        for r in rows:
            names.setdefault(r.name.lower(), []).append(r.id)
        keys = {name: ids[0] for name, ids in names.items() if len(ids) == 1}
        keys.update({r.external_ref.lower(): r.id for r in rows if r.external_ref})
        keys.update({str(r.id): r.id for r in rows})
        return keys
