"""The stand-up pages: the board and presenter render the service's figures, by role and language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.reviews.test_standup_support import Scenario, build, token

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def scenario(engine: AsyncEngine) -> Scenario:
    return await build(engine)


def figures(html: str, name: str) -> list[str]:
    """The data-figure values of one rep's card, in order."""
    card = html.split(f">{name}</a></h2>", 1)[1].split("</article>", 1)[0]
    return [re.sub(r"\s+", " ", value).strip() for value in re.findall(r'data-figure="[^"]+">([^<]+)<', card)]


async def test_board_shows_the_api_figures(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    headers = await token(client, "manager1")
    page = await client.get("/standup", headers=headers)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    data = (await client.get("/api/v1/standup", headers=headers)).json()
    for card in data["cards"]:
        y = card["yesterday"]
        amount = f"${float(y['order_amount']):,.2f}"
        assert figures(html, card["name"]) == [
            f"{y['visits_done']} / {y['visits_planned']}",
            str(y["visits_completed"]),
            f"{y['orders']} · {amount}",
        ]
    ann = html.split(">Ann</a></h2>", 1)[1].split("</article>", 1)[0]
    assert "Missed visit: A2" in ann and "Missed visit: B1" in ann and "Quote for B1" in ann
    assert "Call about the invoice" in ann and 'class="chip chip-red">47% of pace<' in ann
    assert 'href="/standup/present?org_unit_id=' in html and "format=csv" in html
    assert "style=" not in html and "<script>" not in html


async def test_presenter_page(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    page = await client.get("/standup/present", headers=await token(client, "manager1"))
    assert page.status_code == 200
    html = page.text
    assert 'data-presenter data-seconds-per-rep="450" data-meeting-seconds="900"' in html
    assert html.count("data-rep-card") == 2 and 'id="present-2"' in html
    assert ">7:30<" in html  # each of two reps gets 7:30 of the 15 minutes
    assert re.search(r'<script src="/static/standup\.js\?v=\w+" defer></script>', html)
    assert 'href="/static/standup.css' in html and "style=" not in html


async def test_pages_by_role(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    rep_page = (await client.get("/standup", headers=await token(client, "ann"))).text
    assert ">Ann</h2>" in rep_page and ">Bob</h2>" not in rep_page
    exec_page = (await client.get("/standup", headers=await token(client, "exec"))).text
    assert all(f">{name}</a></h2>" in exec_page for name in ("Ann", "Bob", "Cyd"))
    assert exec_page.count('<option value="') == 4  # company, region and two teams to pick from
    hidden = await client.get(
        "/standup", params={"org_unit_id": str(scenario.team1)}, headers=await token(client, "manager2")
    )
    assert hidden.status_code == 404


async def test_bad_date_is_shown_next_to_the_field(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    page = await client.get(
        "/standup", params={"date": "18/11/2026"}, headers=await token(client, "manager1")
    )
    assert page.status_code == 400
    assert 'value="18/11/2026" aria-invalid="true" aria-describedby="f-date-error"' in page.text
    assert 'id="f-date-error">must be a date like 2026-11-18<' in page.text


async def test_board_in_simplified_chinese(client: AsyncTestClient[Any], scenario: Scenario) -> None:
    headers = await token(client, "manager1") | {"Accept-Language": "zh-CN"}
    html = (await client.get("/standup", headers=headers)).text
    assert "站会" in html and "昨天" in html and "阻碍" in html
    weekly = (await client.get("/reviews/weekly", headers=headers)).text
    assert "周回顾" in weekly and "拜访到订单" in weekly
