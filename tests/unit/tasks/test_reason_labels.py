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


@pytest.fixture
def chip() -> Any:
    macro = create_jinja_env().get_template("tasks/_partials/labels.html").module.reason_text  # type: ignore[attr-defined]

    def render(code: str, params: dict[str, Any], locale: str = "en") -> str:
        token = i18n.current_locale.set(locale)
        try:
            return " ".join(html.unescape(str(macro({"code": code, "params": params, "text": "x"}))).split())
        finally:
            i18n.current_locale.reset(token)

    return render


def test_rfm_and_deal_chips_in_both_languages(chip: Any) -> None:
    rfm = {"r": 5, "f": 4, "m": 5}
    assert chip("rfm", rfm) == "RFM 5-4-5: how recently, how often and how much it buys"
    assert chip("rfm", rfm, "zh_Hans") == "RFM 5-4-5：购买的近度、频度和金额"
    deal = {"title": "Spring order", "stage": "Proposal", "stale_days": 12, "close_days": 9}
    assert (
        chip("opportunity", deal)
        == "Deal 'Spring order' at Proposal, 12 days without a step, closes in 9 days"
    )
    assert (
        chip("opportunity", deal, "zh_Hans")
        == "商机“Spring order”处于Proposal阶段, 12 天没有进展, 9 天后预计成交"
    )
    passed = {"title": "Spring order", "stage": "Proposal", "stale_days": None, "close_days": -1}
    assert chip("opportunity", passed) == "Deal 'Spring order' at Proposal, close date passed 1 day ago"
