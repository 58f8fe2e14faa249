"""Visit form definitions: an admin defines them per company, every change of the questions is a
new version (answers keep the version they answered), and each customer gets the active forms
whose grades and statuses match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import msgspec
from sqlalchemy import select

from server.core.access import Principal
from server.core.errors import ProblemError, not_found
from server.core.org import company_id_for_unit
from server.core.params import sent
from server.core.services import Service
from server.db.models import Customer, VisitForm, VisitFormVersion
from server.domain.visit_forms import (
    FieldIn,
    Label,
    assignment_problems,
    definition_problems,
    form_applies,
    ordered,
)

Grades = Annotated[list[str], msgspec.Meta(max_length=4)]
Statuses = Annotated[list[str], msgspec.Meta(max_length=3)]
Fields = Annotated[list[FieldIn], msgspec.Meta(max_length=100)]


class VisitFormIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new form: its name (both languages optional beyond the first), questions, assignment."""

    name: Label
    fields: Fields
    name_zh: Label | None = None
    grades: Grades = msgspec.field(default_factory=list)
    statuses: Statuses = msgspec.field(default_factory=list)
    active: bool = True


class VisitFormPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A change; fields not sent stay. New `fields` make a new version."""

    name: Label | msgspec.UnsetType = msgspec.UNSET
    name_zh: Label | msgspec.UnsetType | None = msgspec.UNSET
    fields: Fields | msgspec.UnsetType = msgspec.UNSET
    grades: Grades | msgspec.UnsetType = msgspec.UNSET
    statuses: Statuses | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


@dataclass(frozen=True)
class FormDefinition:
    """A form with the questions of one version (its current one unless asked otherwise)."""

    form: VisitForm
    version: int
    fields: list[dict[str, Any]]

    def title(self, zh: bool) -> str:
        return (self.form.name_zh or self.form.name) if zh else self.form.name

    def as_json(self) -> dict[str, Any]:
        f = self.form
        return {
            "id": str(f.id),
            "name": f.name,
            "name_zh": f.name_zh,
            "active": f.active,
            "version": self.version,
            "grades": list(f.grades),
            "statuses": list(f.statuses),
            "fields": self.fields,
            "updated_at": f.updated_at.isoformat(),
        }


def _reject(problems: list[dict[str, str]]) -> ProblemError:
    return ProblemError(422, "; ".join(f"{p['field']}: {p['message']}" for p in problems), problems)


def _plain_fields(fields: list[FieldIn]) -> list[dict[str, Any]]:
    return [dict(f) for f in ordered(msgspec.to_builtins(fields))]


class VisitFormsService(Service):
    """Define, change and look up visit forms; the caller owns the transaction."""

    async def company_of(self, principal: Principal) -> UUID:
        if principal.org_unit_id is None:
            raise not_found("Company", None)
        return await self.company_of_unit(principal.org_unit_id)

    async def company_of_unit(self, unit_id: UUID) -> UUID:
        """The company above a unit; asked once per unit per session."""
        cache = self.session.info.setdefault("evidence.company_of", {})
        if unit_id not in cache:
            cache[unit_id] = await company_id_for_unit(self.session, unit_id)
        company: UUID = cache[unit_id]
        return company

    def remember_company(self, unit_id: UUID, company_id: UUID) -> None:
        """The company above a unit, as a caller's own statement read it (the check-out's)."""
        self.session.info.setdefault("evidence.company_of", {})[unit_id] = company_id

    async def _fields_of(self, form_id: UUID, version: int) -> list[dict[str, Any]]:
        fields = await self.session.scalar(
            select(VisitFormVersion.fields).where(
                VisitFormVersion.form_id == form_id, VisitFormVersion.version == version
            )
        )
        return list(fields or [])

    async def _add_version(self, form: VisitForm, fields: list[FieldIn], by: UUID) -> list[dict[str, Any]]:
        plain = _plain_fields(fields)
        self.session.add(
            VisitFormVersion(
                form_id=form.id,
                version=form.version,
                fields=plain,
                created_at=self.clock.now(),
                created_by=by,
            )
        )
        return plain

    async def create(self, principal: Principal, body: VisitFormIn) -> FormDefinition:
        if problems := definition_problems(body.fields) + assignment_problems(body.grades, body.statuses):
            raise _reject(problems)
        form = VisitForm(
            company_id=await self.company_of(principal),
            name=body.name.strip(),
            name_zh=body.name_zh,
            active=body.active,
            version=1,
            grades=sorted(set(body.grades)),
            statuses=sorted(set(body.statuses)),
        )
        self.session.add(form)
        await self.session.flush()
        plain = await self._add_version(form, body.fields, principal.id)
        await self.session.flush()
        return FormDefinition(form, 1, plain)

    async def update(self, principal: Principal, form_id: UUID, body: VisitFormPatch) -> FormDefinition:
        form = await self._form(principal, form_id)
        grades = sent(body.grades)
        statuses = sent(body.statuses)
        fields = sent(body.fields)
        problems = assignment_problems(grades or [], statuses or [])
        if fields is not None:
            problems = definition_problems(fields) + problems
        if problems:
            raise _reject(problems)
        if (name := sent(body.name)) is not None:
            form.name = name.strip()
        if body.name_zh is not msgspec.UNSET:
            form.name_zh = body.name_zh
        if grades is not None:
            form.grades = sorted(set(grades))
        if statuses is not None:
            form.statuses = sorted(set(statuses))
        if (active := sent(body.active)) is not None:
            form.active = active
        current = await self._fields_of(form.id, form.version)
        if fields is not None and _plain_fields(fields) != current:
            form.version += 1
            current = await self._add_version(form, fields, principal.id)
        await self.session.flush()
        return FormDefinition(form, form.version, current)

    async def _form(self, principal: Principal, form_id: UUID) -> VisitForm:
        form = await self.session.get(VisitForm, form_id)
        if form is None or form.company_id != await self.company_of(principal):
            raise not_found("Visit form", form_id, "form_id")
        return form

    async def get(self, principal: Principal, form_id: UUID, version: int | None = None) -> FormDefinition:
        """A form of the caller's company (404 otherwise), at its current or a given version."""
        form = await self._form(principal, form_id)
        number = version or form.version
        fields = await self._fields_of(form.id, number)
        if not fields:
            raise not_found("Version", number, "version")
        return FormDefinition(form, number, fields)

    async def of_company(self, principal: Principal, active_only: bool = False) -> list[FormDefinition]:
        """The company's forms with their current questions, by name."""
        stmt = (
            select(VisitForm, VisitFormVersion.fields)
            .join(
                VisitFormVersion,
                (VisitFormVersion.form_id == VisitForm.id) & (VisitFormVersion.version == VisitForm.version),
            )
            .where(VisitForm.company_id == await self.company_of(principal))
            .order_by(VisitForm.name, VisitForm.id)
        )
        if active_only:
            stmt = stmt.where(VisitForm.active.is_(True))
        return [
            FormDefinition(form, form.version, list(fields))
            for form, fields in await self.session.execute(stmt)
        ]

    async def for_company(self, company_id: UUID) -> list[FormDefinition]:
        """The active forms of a company (the check-out asks for them without a principal)."""
        rows = await self.session.execute(
            select(VisitForm, VisitFormVersion.fields)
            .join(
                VisitFormVersion,
                (VisitFormVersion.form_id == VisitForm.id) & (VisitFormVersion.version == VisitForm.version),
            )
            .where(VisitForm.company_id == company_id, VisitForm.active.is_(True))
            .order_by(VisitForm.name, VisitForm.id)
        )
        return [FormDefinition(form, form.version, list(fields)) for form, fields in rows]

    async def assigned_to(self, customer: Customer) -> list[FormDefinition]:
        """The active forms assigned to this customer by grade and status."""
        company = await self.company_of_unit(customer.org_unit_id)
        return [
            d
            for d in await self.for_company(company)
            if form_applies(d.form.grades, d.form.statuses, customer.grade, customer.status)
        ]

    async def versions(self, form_id: UUID, numbers: set[int]) -> dict[int, list[dict[str, Any]]]:
        """The questions of some versions of one form."""
        rows = await self.session.execute(
            select(VisitFormVersion.version, VisitFormVersion.fields).where(
                VisitFormVersion.form_id == form_id, VisitFormVersion.version.in_(numbers)
            )
        )
        return {number: list(fields) for number, fields in rows}
