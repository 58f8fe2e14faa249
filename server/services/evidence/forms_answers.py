"""A visit's answers: checked with the check-out (required questions of assigned forms block it),
stored once per check-in and form in the check-out's transaction, read back with the check-in.

A photo question is satisfied by the `photo_count` the phone sends with the answers. When the
photos table arrives (issue 24, photos half) the count should come from the visit's stored photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from server.core.i18n import gettext as _
from server.core.i18n import ngettext
from server.core.upsert import insert_or_skip
from server.db.models import Checkin, Customer, VisitForm, VisitFormAnswer, VisitFormVersion
from server.domain.visit_forms import (
    FormAnswersIn,
    answer_problems,
    clean_values,
    display_value,
    missing_forms,
    ordered,
)
from server.services.evidence.forms import VisitFormsService


@dataclass(frozen=True)
class CheckedAnswers:
    """Answers that passed every rule, ready to store."""

    form_id: UUID
    version: int
    values: dict[str, Any]
    photo_count: int | None


class VisitAnswersService(VisitFormsService):
    """Answers of visit forms; the caller owns the transaction."""

    async def check(
        self, customer: Customer, sent: Sequence[FormAnswersIn]
    ) -> tuple[list[CheckedAnswers], list[dict[str, str]]]:
        """The answers that may be stored, and every problem (each naming `answers.<key>`)."""
        assigned = {d.form.id: d.fields for d in await self.assigned_to(customer)}
        company = await self.company_of_unit(customer.org_unit_id)
        problems: list[dict[str, str]] = []
        checked: list[CheckedAnswers] = []
        seen: set[UUID] = set()
        for i, answers in enumerate(sent):
            if answers.form_id in seen:
                problems.append({"field": f"answers[{i}].form_id", "message": "is answered twice"})
                continue
            seen.add(answers.form_id)
            form = await self.session.get(VisitForm, answers.form_id)
            if form is None or form.company_id != company:
                problems.append(
                    {"field": f"answers[{i}].form_id", "message": "is not a form of this company"}
                )
                continue
            fields = (await self.versions(form.id, {answers.version})).get(answers.version)
            if fields is None:
                problems.append(
                    {"field": f"answers[{i}].version", "message": f"{form.name} has no such version"}
                )
                continue
            if found := answer_problems(fields, answers.values, answers.photo_count):
                problems += found
                continue
            values = clean_values(fields, answers.values)
            checked.append(CheckedAnswers(form.id, answers.version, values, answers.photo_count))
        problems += missing_forms(assigned, seen)
        return checked, problems

    async def store(self, checkin: Checkin, checked: Sequence[CheckedAnswers], answered_at: datetime) -> None:
        """Write each form's answers once: a replay, or a racing twin, leaves the first set."""
        if not checked:
            return
        rows = [
            {
                "checkin_id": checkin.id,
                "form_id": a.form_id,
                "form_version": a.version,
                "rep_id": checkin.rep_id,
                "customer_id": checkin.customer_id,
                "answered_at": answered_at.astimezone(UTC),
                "values": a.values,
                "photo_count": a.photo_count,
            }
            for a in checked
        ]
        statement = insert_or_skip(self.session, VisitFormAnswer, ["checkin_id", "form_id"])
        for row in rows:  # one row per form: a handful per visit
            await self.session.execute(statement, row)

    async def for_checkins(
        self, checkin_ids: Sequence[UUID], zh: bool = False
    ) -> dict[UUID, list[dict[str, Any]]]:
        """Each check-in's answers with the questions of the version answered, form by form."""
        if not checkin_ids:
            return {}
        rows = await self.session.execute(
            select(VisitFormAnswer, VisitForm.name, VisitForm.name_zh, VisitFormVersion.fields)
            .join(VisitForm, VisitForm.id == VisitFormAnswer.form_id)
            .join(
                VisitFormVersion,
                (VisitFormVersion.form_id == VisitFormAnswer.form_id)
                & (VisitFormVersion.version == VisitFormAnswer.form_version),
            )
            .where(VisitFormAnswer.checkin_id.in_(list(checkin_ids)))
            .order_by(VisitForm.name, VisitFormAnswer.form_id)
        )
        result: dict[UUID, list[dict[str, Any]]] = {}
        for answer, name, name_zh, fields in rows:
            result.setdefault(answer.checkin_id, []).append(
                {
                    "form_id": str(answer.form_id),
                    "form_name": (name_zh or name) if zh else name,
                    "version": answer.form_version,
                    "values": dict(answer.values),
                    "photo_count": answer.photo_count,
                    "answered_at": answer.answered_at.isoformat(),
                    "fields": ordered(fields),
                }
            )
        return result


def present(answer_sets: Sequence[dict[str, Any]], zh: bool) -> list[dict[str, Any]]:
    """Answer sets for a page: each question's label and answer as a person reads them."""
    yes, no = _("Yes"), _("No")
    shown = []
    for answers in answer_sets:
        rows = []
        for field in answers["fields"]:
            label = (field.get("label_zh") or field["label"]) if zh else field["label"]
            if field["kind"] == "photo":
                count = answers["photo_count"] or 0
                text = ngettext("%(count)s photo", "%(count)s photos", count, count=count)
            else:
                text = display_value(field, answers["values"].get(field["key"]), zh, yes, no) or "—"
            rows.append({"key": field["key"], "label": label, "text": text})
        shown.append({**answers, "rows": rows})
    return shown
