"""The escalation inbox and detail pages: scoped lists, filters, htmx fragments, ack/resolve forms."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import uuid4

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Checkin, Customer, Escalation, Notification, Task
from tests.conftest import Demo, MutableClock, login_session
from tests.integration.escalations.test_escalations_api import make_escalation


async def test_inbox_lists_the_subtree_most_severe_first(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    team1 = demo.units["Shanghai Team 1"]
    await make_escalation(sessionmaker, "user", demo.user("rep1"), team1, "yellow", 1)
    await make_escalation(sessionmaker, "user", demo.user("rep5"), team1, "red", 3)
    await make_escalation(sessionmaker, "user", demo.user("rep2"), demo.units["Los Angeles Team 1"])
    await login_session(client, "manager1")
    page = await client.get("/escalations")
    assert page.status_code == 200
    assert page.text.index("Rep 5") < page.text.index("Rep 1")  # red before yellow
    assert "Rep 2" not in page.text  # another team
    filtered = await client.get("/escalations?severity=yellow", headers={"HX-Request": "true"})
    assert "<html" not in filtered.text and "Rep 1" in filtered.text and "Rep 5" not in filtered.text
    bad = await client.get("/escalations?severity=pink")
    assert bad.status_code == 422 and "severity" in bad.text


async def test_detail_page_shows_figures_history_and_activity(
    client: AsyncTestClient[Any],
    demo: Demo,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: MutableClock,
) -> None:
    rep1 = demo.user("rep1")
    escalation_id = await make_escalation(sessionmaker, "user", rep1, demo.units["Shanghai Team 1"])
    async with sessionmaker() as session:
        customer = await session.scalar(select(Customer).where(Customer.owner_rep_id == rep1).limit(1))
        at = clock.now() - timedelta(hours=5)
        session.add_all(
            [
                Checkin(
                    id=uuid4(),
                    rep_id=rep1,
                    customer_id=customer.id,
                    checked_in_at=at,
                    received_at=at,
                    geo_status="verified",
                    request_hash="t",
                    checked_out_at=at + timedelta(minutes=20),
                    outcome="no_decision",
                ),
                Task(
                    rep_id=rep1,
                    local_date=date(2026, 11, 17),
                    customer_id=customer.id,
                    kind="call",
                    source="manager",
                ),
            ]
        )
        await session.commit()
        name = customer.name
    await login_session(client, "manager1")
    page = await client.get(f"/escalations/{escalation_id}")
    assert page.status_code == 200
    for text in ("Rep 1", "$6,500.00", "65%", "Opened", name, "No decision", "Acknowledge", "Resolve"):
        assert text in page.text, text
    other = await make_escalation(sessionmaker, "user", demo.user("rep2"), demo.units["Los Angeles Team 1"])
    assert (await client.get(f"/escalations/{other}")).status_code == 404


async def test_forms_ack_then_resolve_with_a_reason(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    escalation_id = await make_escalation(
        sessionmaker, "user", demo.user("rep1"), demo.units["Shanghai Team 1"]
    )
    csrf = await login_session(client, "manager1")
    acked = await client.post(
        f"/escalations/{escalation_id}/ack",
        data={"_csrf_token": csrf, "note": "call booked"},
        follow_redirects=False,
    )
    assert acked.status_code == 303 and acked.headers["location"] == f"/escalations/{escalation_id}"
    blank = await client.post(
        f"/escalations/{escalation_id}/resolve", data={"_csrf_token": csrf, "note": "  "}
    )
    assert blank.status_code == 422
    assert 'id="f-note-error"' in blank.text and "Say why it is resolved." in blank.text
    done = await client.post(
        f"/escalations/{escalation_id}/resolve",
        data={"_csrf_token": csrf, "note": "recovered"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    async with sessionmaker() as session:
        escalation = await session.get(Escalation, escalation_id)
        assert (escalation.state, escalation.acknowledged_note, escalation.resolved_note) == (
            "resolved",
            "call booked",
            "recovered",
        )
        assert escalation.resolved_by == demo.user("manager1")


async def test_a_rep_sees_their_own_escalation_without_manager_actions(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    mine = await make_escalation(
        sessionmaker, "user", demo.user("rep1"), demo.units["Shanghai Team 1"], "orange", 2
    )
    await login_session(client, "rep1")
    page = await client.get(f"/escalations/{mine}")
    assert page.status_code == 200
    # Level 2 is the manager's: the rep reads it but gets neither form.
    assert "Orange" in page.text
    assert "Acknowledge</button>" not in page.text and "Resolve</button>" not in page.text


async def test_a_team_escalation_page_for_the_director(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    team1 = demo.units["Shanghai Team 1"]
    escalation_id = await make_escalation(sessionmaker, "org_unit", team1, team1, "orange", 2)
    await login_session(client, "director1")
    page = await client.get(f"/escalations/{escalation_id}")
    assert page.status_code == 200
    assert "Shanghai Team 1" in page.text and "Manager above the team" in page.text
    assert "Acknowledge</button>" in page.text and "Recent activity" not in page.text


async def test_only_the_current_level_or_above_may_resolve_on_the_page(
    client: AsyncTestClient[Any], demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A team manager sees an executive-level escalation but gets no resolve form, and a forged
    post is refused; at level 2 the manager resolves it and the executive is told."""
    unit = demo.units["Shanghai Team 1"]
    red = await make_escalation(sessionmaker, "user", demo.user("rep1"), unit, "red", 3)
    orange = await make_escalation(sessionmaker, "user", demo.user("rep5"), unit, "orange", 2)
    csrf = await login_session(client, "manager1")
    page = await client.get(f"/escalations/{red}")
    assert page.status_code == 200 and f'action="/escalations/{red}/resolve"' not in page.text
    forged = await client.post(f"/escalations/{red}/resolve", data={"_csrf_token": csrf, "note": "done"})
    assert forged.status_code == 403
    page = await client.get(f"/escalations/{orange}")
    assert f'action="/escalations/{orange}/resolve"' in page.text
    done = await client.post(
        f"/escalations/{orange}/resolve",
        data={"_csrf_token": csrf, "note": "coached"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    async with sessionmaker() as session:
        assert await session.scalar(select(Escalation.state).where(Escalation.id == red)) == "open"
        assert await session.scalar(select(Escalation.state).where(Escalation.id == orange)) == "resolved"
        told = (
            await session.execute(
                select(Notification.user_id, Notification.body).where(
                    Notification.url == f"/escalations/{orange}", Notification.kind == "escalation"
                )
            )
        ).all()
    assert [(u, "coached" in b) for u, b in told] == [(demo.user("exec"), True)]
