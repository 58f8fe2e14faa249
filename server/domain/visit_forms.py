"""Visit forms: what an admin may define, and whether a visit's answers satisfy a definition.

Pure: no I/O. The phone applies the same rules (web/static/js/visitforms.js) before it queues a
check-out; server/services/evidence/forms_answers.py applies them again when it arrives.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

Kind = Literal["yes_no", "number", "single_choice", "multi_choice", "text", "photo"]
KINDS: tuple[str, ...] = ("yes_no", "number", "single_choice", "multi_choice", "text", "photo")
CHOICE_KINDS = ("single_choice", "multi_choice")
GRADES = ("A", "B", "C", "D")
STATUSES = ("active", "prospect", "closed")
TEXT_MAX = 1000
Key = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# Checked in field_problems (422 naming the item): the OpenAPI schema Litestar generates drops the
# constraints of a list's items, so a 400 from msgspec would refuse data the schema calls valid.
Choice = str
CHOICE_MAX = 100


class FieldIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """One question of a form. `key` names it in answers, errors and exports."""

    key: Key
    kind: Kind
    label: Label
    label_zh: Label | None = None
    required: bool = False
    order: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    unit: Annotated[str, msgspec.Meta(max_length=20)] | None = None  # number only
    min: float | None = None  # number only
    max: float | None = None
    choices: list[Choice] | None = None  # single_choice / multi_choice: the stored values
    choices_zh: list[Choice] | None = None  # the same choices in Chinese, in the same order


class FormAnswersIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One form's answers, sent with the check-out. `photo_count`: photos taken at the visit,
    counted by the phone (checked against the form's photo fields)."""

    form_id: UUID
    version: Annotated[int, msgspec.Meta(ge=1)]
    values: dict[str, Any] = msgspec.field(default_factory=dict)
    photo_count: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None


Problem = dict[str, str]


def ordered(fields: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Fields in the order the admin chose (ties keep the order they were defined in)."""
    return sorted(fields, key=lambda f: int(f.get("order", 0)))


def definition_problems(fields: Sequence[FieldIn]) -> list[Problem]:
    """Every rule a form definition breaks, each naming `fields[i].<attribute>`."""
    problems: list[Problem] = []
    if not fields:
        problems.append({"field": "fields", "message": "a form needs at least one field"})
    seen: set[str] = set()
    for i, field in enumerate(fields):
        at = f"fields[{i}]"
        if field.key in seen:
            problems.append({"field": f"{at}.key", "message": f"{field.key} is used by another field"})
        seen.add(field.key)
        is_number = field.kind == "number"
        for name in ("unit", "min", "max"):
            if getattr(field, name) is not None and not is_number:
                problems.append({"field": f"{at}.{name}", "message": "is only allowed for a number field"})
        for name in ("min", "max"):
            value = getattr(field, name)
            if value is not None and not math.isfinite(value):
                problems.append({"field": f"{at}.{name}", "message": "must be a finite number"})
        if field.min is not None and field.max is not None and field.min > field.max:
            problems.append({"field": f"{at}.max", "message": "must not be below min"})
        for name in ("choices", "choices_zh"):
            for i, choice in enumerate(getattr(field, name) or []):
                if not choice.strip() or len(choice) > CHOICE_MAX:
                    problems.append(
                        {"field": f"{at}.{name}[{i}]", "message": f"must be 1 to {CHOICE_MAX} characters"}
                    )
        if field.kind in CHOICE_KINDS:
            if not field.choices or len(field.choices) < 2:
                problems.append(
                    {"field": f"{at}.choices", "message": "a choice field needs at least 2 choices"}
                )
            elif len(set(field.choices)) != len(field.choices):
                problems.append({"field": f"{at}.choices", "message": "choices must differ"})
            if field.choices_zh is not None and len(field.choices_zh) != len(field.choices or []):
                problems.append(
                    {"field": f"{at}.choices_zh", "message": "must list as many choices as choices"}
                )
        elif field.choices is not None or field.choices_zh is not None:
            problems.append({"field": f"{at}.choices", "message": "is only allowed for a choice field"})
    return problems


def assignment_problems(grades: Sequence[str], statuses: Sequence[str]) -> list[Problem]:
    problems: list[Problem] = []
    if bad := [g for g in grades if g not in GRADES]:
        problems.append({"field": "grades", "message": f"unknown grade {bad[0]}; use {', '.join(GRADES)}"})
    if bad := [s for s in statuses if s not in STATUSES]:
        problems.append(
            {"field": "statuses", "message": f"unknown status {bad[0]}; use {', '.join(STATUSES)}"}
        )
    return problems


def form_applies(grades: Sequence[str], statuses: Sequence[str], grade: str, status: str) -> bool:
    """Whether a form is assigned to a customer of this grade and status (empty lists match all)."""
    return (not grades or grade in grades) and (not statuses or status in statuses)


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def _value_problem(field: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` is not an answer to `field` (None: it is)."""
    kind = field["kind"]
    if kind == "yes_no":
        return None if isinstance(value, bool) else "must be yes (true) or no (false)"
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return "must be a number"
        low, high = field.get("min"), field.get("max")
        if low is not None and value < low:
            return f"must be at least {_number(low)}"
        if high is not None and value > high:
            return f"must be at most {_number(high)}"
        return None
    choices = field.get("choices") or []
    if kind == "single_choice":
        return None if value in choices else f"must be one of: {', '.join(choices)}"
    if kind == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "must be a list of choices"
        if bad := [v for v in value if v not in choices]:
            return f"{bad[0]} is not one of: {', '.join(choices)}"
        return "lists a choice twice" if len(set(value)) != len(value) else None
    if kind == "text":
        if not isinstance(value, str):
            return "must be text"
        return f"must be at most {TEXT_MAX} characters" if len(value) > TEXT_MAX else None
    return "takes no value: take a photo at the visit"  # photo


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def answer_problems(
    fields: Sequence[Mapping[str, Any]],
    values: Mapping[str, Any],
    photo_count: int | None,
    prefix: str = "answers",
) -> list[Problem]:
    """Every rule the answers break, each naming `answers.<key>`. A photo field is satisfied by
    `photo_count` (photos taken at the visit), not by a value."""
    problems: list[Problem] = []
    known = {f["key"] for f in fields}
    for key in values:
        if key not in known:
            problems.append({"field": f"{prefix}.{key}", "message": "is not a question of this form"})
    for field in ordered(fields):
        key, at = field["key"], f"{prefix}.{field['key']}"
        if field["kind"] == "photo":
            if field.get("required") and not photo_count:
                problems.append({"field": at, "message": "needs a photo taken at this visit"})
            if key in values and not _blank(values[key]):
                problems.append({"field": at, "message": _value_problem(field, values[key]) or ""})
            continue
        value = values.get(key)
        if _blank(value):
            if field.get("required"):
                problems.append({"field": at, "message": "is required"})
            continue
        if reason := _value_problem(field, value):
            problems.append({"field": at, "message": reason})
    return problems


def clean_values(fields: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    """The answers as stored: blanks left out, text trimmed, numbers as sent."""
    kinds = {f["key"]: f["kind"] for f in fields}
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key not in kinds or kinds[key] == "photo" or _blank(value):
            continue
        cleaned[key] = value.strip() if isinstance(value, str) else value
    return cleaned


def missing_forms(
    assigned: Mapping[UUID, Sequence[Mapping[str, Any]]], answered: Iterable[UUID]
) -> list[Problem]:
    """Required questions of assigned forms the check-out did not answer at all."""
    sent = set(answered)
    return [
        {"field": f"answers.{field['key']}", "message": "is required"}
        for form_id, fields in assigned.items()
        if form_id not in sent
        for field in ordered(fields)
        if field.get("required")
    ]


def display_value(
    field: Mapping[str, Any], value: Any, zh: bool = False, yes: str = "Yes", no: str = "No"
) -> str:
    """An answer as a person reads it (choices in the reader's language when defined)."""
    if value is None:
        return ""
    kind = field["kind"]
    if kind == "yes_no":
        return yes if value else no
    if kind == "number":
        unit = field.get("unit")
        return f"{_number(value)} {unit}" if unit else _number(value)
    if kind in CHOICE_KINDS:
        choices, local = field.get("choices") or [], field.get("choices_zh") if zh else None
        names: dict[str, str] = dict(zip(choices, local, strict=False)) if local else {}
        items = value if isinstance(value, list) else [value]
        return ", ".join(names.get(str(v), str(v)) for v in items)
    return str(value)
