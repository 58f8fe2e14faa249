"""Reviewing visit forms: a rep's day of answers, a form's answers as CSV rows per period and
team, and a customer's number answers over time (e.g. shelf facings)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from markupsafe import Markup
from sqlalchemy import select

from server.core.access import Scope
from server.core.errors import not_found
from server.core.i18n import current_locale, format_date, format_number
from server.core.i18n import gettext as _
from server.core.org import subtree_cte
from server.db.models import Checkin, Customer, User, VisitForm, VisitFormAnswer, VisitFormVersion
from server.domain.calendar import local_date
from server.domain.charts import Bar, Group, bar_chart
from server.domain.visit_forms import display_value, ordered
from server.services.checkins.reads import start_of
from server.services.evidence.forms_answers import VisitAnswersService, present

FIXED_COLUMNS = ("checkin_id", "visit_date", "answered_at", "rep", "customer", "form_version", "photo_count")
SERIES_VISITS = 12  # the last visits charted per field


@dataclass(frozen=True)
class VisitAnswers:
    """One visit of a rep's day with the answers given there."""

    checkin_id: UUID
    customer_name: str
    checked_in_at: Any
    forms: list[dict[str, Any]]


@dataclass(frozen=True)
class NumberSeries:
    """One number question of one form: (visit date, value), oldest first."""

    form_name: str
    key: str
    label: str
    unit: str | None
    points: list[tuple[date, float]]


class FormsReviewService(VisitAnswersService):
    """Reads for managers; every query is scoped by the caller's Scope."""

    async def rep_day(self, scope: Scope, rep_id: UUID, day: date, tz: str, zh: bool) -> list[VisitAnswers]:
        """The rep's visits on `day` (in `tz`) that have answers, in the order they happened."""
        rows = await self.session.execute(
            select(Checkin.id, Customer.name, Checkin.checked_in_at)
            .join(Customer, Customer.id == Checkin.customer_id)
            .where(
                Checkin.rep_id == rep_id,
                scope.user_clause(Checkin.rep_id),
                Checkin.checked_in_at >= start_of(day, tz),
                Checkin.checked_in_at < start_of(day + timedelta(days=1), tz),
            )
            .order_by(Checkin.checked_in_at)
        )
        visits = list(rows)
        answers = await self.for_checkins([v.id for v in visits], zh)
        return [VisitAnswers(v.id, v.name, v.checked_in_at, answers[v.id]) for v in visits if v.id in answers]

    async def export(
        self,
        scope: Scope,
        company_id: UUID,
        form_id: UUID,
        first: date,
        last: date,
        unit_id: UUID | None,
        tz: str,
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """Columns and rows of a form's answers from `first` to `last` (days in `tz`), for the reps
        of `unit_id`'s subtree (default: all the caller sees); a column per question."""
        form = await self.session.get(VisitForm, form_id)
        if form is None or form.company_id != company_id:
            raise not_found("Visit form", form_id, "form_id")
        stmt = (
            select(VisitFormAnswer, User.name, Customer.name)
            .join(User, User.id == VisitFormAnswer.rep_id)
            .join(Customer, Customer.id == VisitFormAnswer.customer_id)
            .join(Checkin, Checkin.id == VisitFormAnswer.checkin_id)
            .where(
                VisitFormAnswer.form_id == form_id,
                scope.user_clause(VisitFormAnswer.rep_id),
                Checkin.checked_in_at >= start_of(first, tz),
                Checkin.checked_in_at < start_of(last + timedelta(days=1), tz),
            )
            .order_by(Checkin.checked_in_at, VisitFormAnswer.id)
        )
        if unit_id is not None:
            if not scope.sees_unit(unit_id):
                raise not_found("Org unit", unit_id, "org_unit_id")
            team = subtree_cte(unit_id, "team")
            stmt = stmt.where(User.org_unit_id.in_(select(team.c.id)))
        rows = list(await self.session.execute(stmt))
        versions = await self.versions(form_id, {a.form_version for a, _, _ in rows} | {form.version})
        keys = _question_keys(versions, form.version)
        columns = [*FIXED_COLUMNS, *keys]
        out = []
        for answer, rep, customer in rows:
            fields = {f["key"]: f for f in versions.get(answer.form_version, [])}
            row: dict[str, Any] = {
                "checkin_id": answer.checkin_id,
                "visit_date": local_date(answer.answered_at, tz).isoformat(),
                "answered_at": answer.answered_at.isoformat(),
                "rep": rep,
                "customer": customer,
                "form_version": answer.form_version,
                "photo_count": "" if answer.photo_count is None else answer.photo_count,
            }
            for key, value in answer.values.items():
                if key in fields:
                    row[key] = _export_value(fields[key], value)
            out.append(row)
        return columns, out

    async def number_series(self, scope: Scope, customer_id: UUID, tz: str, zh: bool) -> list[NumberSeries]:
        """Every number question answered at this customer, its last visits' values."""
        customer = await self.session.get(Customer, customer_id)
        if customer is None or not scope.sees_customer(customer.owner_rep_id, customer.org_unit_id):
            raise not_found("Customer", customer_id, "customer_id")
        rows = await self.session.execute(
            select(VisitFormAnswer, VisitForm.name, VisitForm.name_zh, VisitFormVersion.fields)
            .join(VisitForm, VisitForm.id == VisitFormAnswer.form_id)
            .join(
                VisitFormVersion,
                (VisitFormVersion.form_id == VisitFormAnswer.form_id)
                & (VisitFormVersion.version == VisitFormAnswer.form_version),
            )
            .where(VisitFormAnswer.customer_id == customer_id)
            .order_by(VisitFormAnswer.answered_at.desc())
            .limit(SERIES_VISITS * 10)
        )
        series: dict[tuple[UUID, str], NumberSeries] = {}
        for answer, name, name_zh, fields in rows:
            for field in ordered(fields):
                value = answer.values.get(field["key"])
                if field["kind"] != "number" or value is None:
                    continue
                key = (answer.form_id, field["key"])
                if key not in series:
                    label = (field.get("label_zh") or field["label"]) if zh else field["label"]
                    form_name = (name_zh or name) if zh else name
                    series[key] = NumberSeries(form_name, field["key"], label, field.get("unit"), [])
                if len(series[key].points) < SERIES_VISITS:
                    series[key].points.append((local_date(answer.answered_at, tz), float(value)))
        for item in series.values():
            item.points.reverse()
        return list(series.values())

    async def rep_day_page(
        self, scope: Scope, rep_id: UUID, day: date, tz: str
    ) -> list[tuple[VisitAnswers, Any]]:
        """The rep's day of answers as the rep-day view shows them (in the reader's language)."""
        zh = reading_chinese()
        return [(visit, present(visit.forms, zh)) for visit in await self.rep_day(scope, rep_id, day, tz, zh)]

    async def customer_charts(
        self, scope: Scope, customer_id: UUID, tz: str
    ) -> list[tuple[NumberSeries, Markup]]:
        """One SVG chart per number question answered at the customer (the customer page)."""
        series = await self.number_series(scope, customer_id, tz, reading_chinese())
        return [(item, _chart(i, item)) for i, item in enumerate(series)]


def reading_chinese() -> bool:
    return current_locale.get().startswith("zh")


def _chart(index: int, series: NumberSeries) -> Markup:
    unit = f" {series.unit}" if series.unit else ""
    return bar_chart(
        f"form-chart-{index}",
        f"{series.label} · {series.form_name}",
        _("%(label)s at each of the last visits, oldest first.", label=series.label),
        [
            Group(format_date(day), [Bar(value, f"{format_number(value)}{unit}", "actual")])
            for day, value in series.points
        ],
    )


def _question_keys(versions: dict[int, list[dict[str, Any]]], current: int) -> list[str]:
    """The questions as columns: the current version's order, then keys only older versions had."""
    keys: list[str] = []
    for number in [current, *sorted(versions, reverse=True)]:
        for field in ordered(versions.get(number, [])):
            if field["kind"] != "photo" and field["key"] not in keys:
                keys.append(field["key"])
    return keys


def _export_value(field: dict[str, Any], value: Any) -> Any:
    if field["kind"] == "yes_no":
        return "yes" if value else "no"
    if field["kind"] == "multi_choice":
        return "; ".join(value)
    if field["kind"] == "number":
        return display_value({"kind": "number"}, value)
    return value


def labels(fields: Sequence[dict[str, Any]], zh: bool) -> dict[str, str]:
    """Each question's label in the reader's language (English when no Chinese was given)."""
    return {f["key"]: ((f.get("label_zh") or f["label"]) if zh else f["label"]) for f in fields}
