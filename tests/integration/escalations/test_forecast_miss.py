""" "Projected to miss" on the escalation ladder: a forecast whose 80% upper bound is below the
plan opens its own escalation (rule forecast_miss), climbs rep -> manager -> executive while
unacknowledged, and resolves once a forecast reaches the plan again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.core import i18n
from server.db.models import Escalation, Forecast, Notification, OrgSettings, Target
from server.jobs.registry import run_job
from server.services.escalations.ladder import EscalationNotice, escalation_message
from tests.conftest import DEFAULT_NOW, Demo, login_session
from tests.integration.forecasts.test_forecasts import refit

NOVEMBER = date(2026, 11, 1)


async def set_plan(session: AsyncSession, scope: str, scope_id: UUID, amount: Decimal) -> None:
    result = await session.execute(
        update(Target)
        .where(
            Target.scope == scope,
            Target.scope_id == scope_id,
            Target.metric == "revenue",
            Target.granularity == "month",
            Target.period_start == NOVEMBER,
            Target.status == "approved",
        )
        .values(amount=amount)
    )
    assert result.rowcount == 1  # type: ignore[attr-defined]
    await session.commit()


async def forecast_row(session: AsyncSession, run_id: UUID, scope_id: UUID) -> Forecast:
    row = await session.scalar(
        select(Forecast).where(
            Forecast.run_id == run_id, Forecast.scope_id == scope_id, Forecast.period == "2026-11"
        )
    )
    assert row is not None
    return row


async def misses(session: AsyncSession) -> dict[str, Escalation]:
    session.expire_all()
    rows = await session.scalars(select(Escalation).where(Escalation.rule == "forecast_miss"))
    return {e.dedup_key: e for e in rows}


@pytest.mark.heavy
async def test_projected_miss_opens_climbs_and_resolves_when_the_forecast_recovers(
    client: AsyncTestClient[Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    demo: Demo,
    session: AsyncSession,
) -> None:
    run_id = await refit(sessionmaker, settings, demo)
    rep1, team = demo.user("rep1"), demo.units["Shanghai Team 1"]
    rep_high = (await forecast_row(session, run_id, rep1)).high
    team_high = (await forecast_row(session, run_id, team)).high
    await set_plan(session, "user", rep1, rep_high + 1000)
    await set_plan(session, "org_unit", team, team_high + 5000)
    # Climb after one business hour unacknowledged, so a morning plays the whole ladder.
    await session.execute(update(OrgSettings).values(escalation_climb_h=1))
    await session.commit()

    await run_job("escalate", sessionmaker, settings, DEFAULT_NOW, force_slot="s1")
    found = await misses(session)
    rep_key, team_key = f"forecast_miss:user:{rep1}:2026-11", f"forecast_miss:org_unit:{team}:2026-11"
    assert set(found) == {rep_key, team_key}, found.keys()  # nobody else's high is below plan
    rep_esc, team_esc = found[rep_key], found[team_key]
    assert (rep_esc.level, rep_esc.severity, rep_esc.state) == (1, "orange", "open")
    assert (team_esc.level, team_esc.subject_type, team_esc.org_unit_id) == (2, "org_unit", team)
    assert Decimal(rep_esc.snapshot["plan"]) == rep_high + 1000
    assert Decimal(rep_esc.snapshot["high"]) == rep_high
    pushed = await session.scalars(select(Notification).where(Notification.user_id == rep1))
    titles = [n.title for n in pushed]
    assert any("projected to miss the 2026-11 plan" in t for t in titles), titles

    await login_session(client, "rep1")
    detail = await client.get(f"/escalations/{rep_esc.id}")
    assert detail.status_code == 200 and "Projected to miss" in detail.text and "80% range" in detail.text
    assert f"{rep_high + 1000:,.2f}" in detail.text  # the plan, as money

    levels = []
    for hours, slot in ((1.5, "s2"), (3, "s3")):
        await run_job(
            "escalate", sessionmaker, settings, DEFAULT_NOW + timedelta(hours=hours), force_slot=slot
        )
        levels.append((await misses(session))[rep_key].level)
    assert levels == [2, 3]  # rep -> manager -> executive, like the pace rules

    # The forecast recovers: its upper bound reaches the plan again (here: the plan is lowered).
    await set_plan(session, "user", rep1, rep_high - 1)
    for hours, slot in ((3.5, "s4"), (4, "s5")):
        await run_job(
            "escalate", sessionmaker, settings, DEFAULT_NOW + timedelta(hours=hours), force_slot=slot
        )
    after = await misses(session)
    assert after[rep_key].state == "resolved" and after[team_key].state != "resolved"


def test_the_push_text_in_both_languages() -> None:
    notice = EscalationNotice(
        escalation_id=UUID(int=1),
        subject_type="user",
        subject_id=UUID(int=2),
        org_unit_id=None,
        severity="orange",
        level=1,
        level_changed_at=DEFAULT_NOW,
        reason="climbed",
        snapshot={"rule": "forecast_miss", "period": "2026-11", "forecast": "80000", "high": "90000",
                  "plan": "100000"},
    )  # fmt: skip
    title, body = escalation_message(notice, "Ann")
    assert title == "Orange: Ann is projected to miss the 2026-11 plan"
    assert "$90,000.00" in body and "$100,000.00" in body and body.startswith("Not acknowledged")
    token = i18n.current_locale.set("zh_Hans")
    try:
        zh_title, zh_body = escalation_message(notice, "Ann")
    finally:
        i18n.current_locale.reset(token)
    assert "预计" in zh_title and "2026-11" in zh_title and "100,000.00" in zh_body
