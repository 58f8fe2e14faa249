"""The plan-gap chip keeps its number (issue 17: "Could close  of the remaining gap")."""

from __future__ import annotations

import html
from typing import Any

import pytest

from server.core import i18n
from server.core.templates import create_jinja_env


@pytest.fixture
def label() -> Any:
    macro = create_jinja_env().get_template("tasks/_partials/labels.html").module.reason_text  # type: ignore[attr-defined]

    def render(params: dict[str, Any], locale: str = "en") -> str:
        token = i18n.current_locale.set(locale)
        try:
            return html.unescape(str(macro({"code": "plan_gap", "params": params, "text": "x"}))).strip()
        finally:
            i18n.current_locale.reset(token)

    return render


def test_the_share_the_planner_stores_is_shown_as_a_percent(label: Any) -> None:
    assert label({"share": 0.034, "readiness": 1.0}) == "Could close 3% of the remaining gap"
    assert label({"share": 0.004}) == "Could close <1% of the remaining gap"
    assert label({"share": 1.2}) == "Could close all of the remaining gap"
    assert label({"percent": 25}) == "Could close 25% of the remaining gap"  # older plans
    assert "3%" in label({"share": 0.034}, "zh_Hans")
