"""Visit form rules (server/domain/visit_forms.py), table-driven."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import msgspec
import pytest

from server.domain.visit_forms import (
    FieldIn,
    answer_problems,
    assignment_problems,
    clean_values,
    definition_problems,
    display_value,
    form_applies,
    missing_forms,
)

FIELDS: list[dict[str, Any]] = [
    {
        "key": "facings",
        "kind": "number",
        "label": "Facings",
        "required": True,
        "min": 0,
        "max": 50,
        "order": 1,
    },
    {"key": "promo", "kind": "yes_no", "label": "Promo", "required": True, "order": 2},
    {"key": "brand", "kind": "single_choice", "label": "Brand", "choices": ["Acme", "Globex"], "order": 3},
    {"key": "issues", "kind": "multi_choice", "label": "Issues", "choices": ["dust", "price"], "order": 4},
    {"key": "note", "kind": "text", "label": "Note", "order": 5},
    {"key": "photo", "kind": "photo", "label": "Photo", "required": True, "order": 6},
]
OK = {"facings": 12, "promo": False}


@pytest.mark.parametrize(
    ("values", "photos", "expected"),
    [
        (OK, 1, []),
        ({**OK, "facings": 0}, 1, []),
        ({**OK, "facings": 12.5}, 1, []),
        ({"promo": True}, 1, [("answers.facings", "is required")]),
        ({**OK, "facings": ""}, 1, [("answers.facings", "is required")]),
        ({**OK, "facings": -1}, 1, [("answers.facings", "must be at least 0")]),
        ({**OK, "facings": 51}, 1, [("answers.facings", "must be at most 50")]),
        ({**OK, "facings": "12"}, 1, [("answers.facings", "must be a number")]),
        ({**OK, "facings": True}, 1, [("answers.facings", "must be a number")]),
        ({**OK, "promo": "yes"}, 1, [("answers.promo", "must be yes (true) or no (false)")]),
        ({"facings": 1}, 1, [("answers.promo", "is required")]),
        ({**OK, "brand": "Initech"}, 1, [("answers.brand", "must be one of: Acme, Globex")]),
        ({**OK, "brand": "Acme"}, 1, []),
        ({**OK, "issues": ["dust", "price"]}, 1, []),
        ({**OK, "issues": "dust"}, 1, [("answers.issues", "must be a list of choices")]),
        ({**OK, "issues": ["mould"]}, 1, [("answers.issues", "mould is not one of: dust, price")]),
        ({**OK, "issues": ["dust", "dust"]}, 1, [("answers.issues", "lists a choice twice")]),
        ({**OK, "note": "x" * 1001}, 1, [("answers.note", "must be at most 1000 characters")]),
        ({**OK, "note": 5}, 1, [("answers.note", "must be text")]),
        ({**OK, "note": "   "}, 1, []),
        (OK, 0, [("answers.photo", "needs a photo taken at this visit")]),
        (OK, None, [("answers.photo", "needs a photo taken at this visit")]),
        ({**OK, "shelf": 3}, 1, [("answers.shelf", "is not a question of this form")]),
        (
            {},
            0,
            [
                ("answers.facings", "is required"),
                ("answers.promo", "is required"),
                ("answers.photo", "needs a photo taken at this visit"),
            ],
        ),
    ],
)
def test_answer_rules(values: dict[str, Any], photos: int | None, expected: list[tuple[str, str]]) -> None:
    assert [(p["field"], p["message"]) for p in answer_problems(FIELDS, values, photos)] == expected


def _fields(*specs: dict[str, Any]) -> list[FieldIn]:
    return msgspec.convert(list(specs), list[FieldIn])


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        ([{"key": "a", "kind": "text", "label": "A"}], []),
        ([], ["fields"]),
        (
            [{"key": "a", "kind": "text", "label": "A"}, {"key": "a", "kind": "yes_no", "label": "B"}],
            ["fields[1].key"],
        ),
        ([{"key": "a", "kind": "text", "label": "A", "unit": "kg"}], ["fields[0].unit"]),
        ([{"key": "a", "kind": "yes_no", "label": "A", "min": 1}], ["fields[0].min"]),
        ([{"key": "a", "kind": "number", "label": "A", "min": 3, "max": 2}], ["fields[0].max"]),
        ([{"key": "a", "kind": "number", "label": "A", "min": 2, "max": 2, "unit": "kg"}], []),
        ([{"key": "a", "kind": "single_choice", "label": "A"}], ["fields[0].choices"]),
        ([{"key": "a", "kind": "multi_choice", "label": "A", "choices": ["x", "x"]}], ["fields[0].choices"]),
        (
            [
                {
                    "key": "a",
                    "kind": "single_choice",
                    "label": "A",
                    "choices": ["x", "y"],
                    "choices_zh": ["甲"],
                }
            ],
            ["fields[0].choices_zh"],
        ),
        ([{"key": "a", "kind": "text", "label": "A", "choices": ["x", "y"]}], ["fields[0].choices"]),
    ],
)
def test_definition_rules(specs: list[dict[str, Any]], expected: list[str]) -> None:
    assert [p["field"] for p in definition_problems(_fields(*specs))] == expected


@pytest.mark.parametrize("key", ["Shelf", "1abc", "a-b", "", "a" * 41])
def test_keys_are_lower_snake_case(key: str) -> None:
    with pytest.raises(msgspec.ValidationError, match="key"):
        _fields({"key": key, "kind": "text", "label": "A"})


@pytest.mark.parametrize(
    ("grades", "statuses", "grade", "status", "applies"),
    [
        ([], [], "D", "closed", True),
        (["A", "B"], [], "A", "active", True),
        (["A", "B"], [], "C", "active", False),
        ([], ["prospect"], "C", "prospect", True),
        (["A"], ["prospect"], "A", "active", False),
    ],
)
def test_assignment(grades: list[str], statuses: list[str], grade: str, status: str, applies: bool) -> None:
    assert form_applies(grades, statuses, grade, status) is applies


def test_assignment_names_unknown_grades_and_statuses() -> None:
    assert [p["field"] for p in assignment_problems(["A", "E"], ["gone"])] == ["grades", "statuses"]
    assert assignment_problems(["A"], ["active"]) == []


def test_unanswered_forms_name_their_required_questions() -> None:
    answered, missing = uuid4(), uuid4()
    problems = missing_forms({answered: FIELDS, missing: FIELDS}, [answered])
    assert [p["field"] for p in problems] == ["answers.facings", "answers.promo", "answers.photo"]


def test_clean_values_trim_text_and_drop_blanks_and_photos() -> None:
    values = {"facings": 3, "note": "  ok ", "brand": "", "photo": "x", "issues": []}
    assert clean_values(FIELDS, values) == {"facings": 3, "note": "ok"}


@pytest.mark.parametrize(
    ("field", "value", "zh", "shown"),
    [
        ({"kind": "yes_no"}, True, False, "Yes"),
        ({"kind": "number", "unit": "facings"}, 12.0, False, "12 facings"),
        ({"kind": "number"}, 2.5, False, "2.5"),
        (
            {"kind": "multi_choice", "choices": ["a", "b"], "choices_zh": ["甲", "乙"]},
            ["a", "b"],
            True,
            "甲, 乙",
        ),
        ({"kind": "single_choice", "choices": ["a", "b"]}, "b", True, "b"),
        ({"kind": "text"}, None, False, ""),
    ],
)
def test_display_value(field: dict[str, Any], value: Any, zh: bool, shown: str) -> None:
    assert display_value(field, value, zh) == shown
