"""Simplified Chinese: a zh-CN phone gets translated navigation and locale-formatted figures."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from tests.e2e.support import ROOT, Browsing

pytestmark = pytest.mark.e2e

CATALOG = ROOT / "web" / "locales" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
REP_NAV = ["Today", "Customers", "Deals", "Progress", "Inbox"]


@cache
def zh(message: str) -> str:
    """The catalog's translation (so the test follows the translators, not a copy of their work)."""
    with CATALOG.open("rb") as handle:
        translations = {m.id: m.string for m in read_po(handle) if m.id and not m.fuzzy}
    translated = translations.get(message)
    assert translated, f"no zh_Hans translation for {message!r} in {CATALOG}"
    return str(translated)


def order_cells(page: Any) -> list[tuple[str, str]]:
    rows = page.locator('section[aria-labelledby="orders-title"] tbody tr')
    return [
        (row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text()) for row in rows.all()
    ]


def digits(amount: str) -> str:
    return re.sub(r"[^\d.,]", "", amount)


def test_chinese_navigation_and_formatted_figures(page_as: Any, browsing: Browsing) -> None:
    page = page_as("rep", locale="zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("nav.app-nav .nav-link > span")).to_have_text([zh(label) for label in REP_NAV])
    expect(page.locator("#net-status")).to_have_text(zh("Online"))
    expect(page.locator("h1")).to_have_text(zh("Today"))

    # Progress (opened from the navigation, an hx-boost swap): money grouped by thousands.
    page.locator('nav.app-nav a[href="/progress"]').click()
    expect(page.locator("h1")).to_have_text(zh("Progress"))
    expect(page.locator('nav.app-nav a[aria-current="page"]')).to_have_text(zh("Progress"))
    figures = page.locator("dl.stats dd.num").all_inner_texts()
    money = [figure for figure in figures if re.match(r"[^\d\s]+\d", figure)]  # a currency sign first
    assert money, f"no amounts on the progress page: {figures}"
    for figure in money:
        for amount in figure.split(" – "):  # a forecast's 80% interval shows two amounts
            assert re.fullmatch(r"\D*\d{1,3}(,\d{3})*\.\d{2}", amount), figure
    assert any(re.search(r"\d,\d{3}\.\d{2}", amount) for amount in money), money

    # A customer of rep1's with orders: its page shows money amounts and dates.
    me = page.request.get("/api/v1/me").json()
    customers = page.request.get("/api/v1/customers?limit=50").json()["items"]
    customer = next(c for c in customers if c["owner_rep_id"] == me["id"] and c["last_order_on"])
    page.goto(f"/customers/{customer['id']}")
    expect(page.locator("#orders-title")).to_have_text(zh("Recent orders"))
    chinese = order_cells(page)
    assert chinese, "the customer page lists no orders"

    # The same page in English, same session (cookie copied; no second sign-in): only the
    # browser's language differs, and rep1 has no language of their own.
    english_page = browsing.new_page(locale="en-US", storage_state=page.context.storage_state())
    english_page.goto(f"/customers/{customer['id']}")
    expect(english_page.locator("html")).to_have_attribute("lang", "en")
    english = order_cells(english_page)
    assert len(english) == len(chinese)

    for (zh_date, zh_amount), (en_date, en_amount) in zip(chinese, english, strict=True):
        # Dates: 2026年11月21日 against Nov 21, 2026.
        assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", zh_date), zh_date
        assert not re.search(r"[年月日]", en_date), en_date
        # Amounts: the same figure, grouped by thousands with two decimals, in each locale's style.
        assert re.fullmatch(r"\D*\d{1,3}(,\d{3})*\.\d{2}", zh_amount), zh_amount
        assert digits(zh_amount) == digits(en_amount), (zh_amount, en_amount)
    big = [amount for _, amount in chinese if float(digits(amount).replace(",", "")) >= 1000]
    assert all("," in amount for amount in big), big
    assert browsing.problems_of(page) == []
