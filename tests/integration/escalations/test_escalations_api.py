"""The escalations API: the scope matrix (404 outside scope), who may ack and resolve, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Escalation, EscalationEvent
from tests.conftest import Demo

OPENED = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)
SNAPSHOT = {
    "metric": "revenue",
    "as_of": "2026-11-17",
    "target": "10000.00",
    "actual": "6500.00",
    "pace": "0.6500",
}


async def make_escalation(
    sessionmaker: async_sessionmaker[AsyncSession],
    subject_type: str,
    subject_id: UUID,
    unit_id: UUID,
    severity: str = "yellow",
    level: int = 1,
    state: str = "open",
) -> UUID:
    """An escalation as the sweep would have opened it, with its 'opened' event."""
    escalation_id = uuid4()
    async with sessionmaker() as session:
        session.add(
            Escalation(
                id=escalation_id,
                rule="pace_revenue",
                subject_type=subject_type,
                subject_id=subject_id,
                org_unit_id=unit_id,
                severity=severity,
                level=level,
                state=state,
                dedup_key=f"pace_revenue:{subject_type}:{subject_id}:2026-11",
                opened_at=OPENED,
                level_changed_at=OPENED,
                last_seen_at=OPENED,
                clear_count=0,
                snapshot=SNAPSHOT,
            )
        )
        await session.flush()
        session.add(
            EscalationEvent(
                escalation_id=escalation_id, at=OPENED, event="opened", to_level=level, severity=severity
            )
        )
        await session.commit()
    return escalation_id


@pytest.fixture
async def ladder(demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, UUID]:
    """rep1 (Shanghai Team 1), rep2 (Los Angeles Team 1) and Shanghai Team 1 itself, at level 2."""
    team1 = demo.units["Shanghai Team 1"]
    return {
        "rep1": await make_escalation(sessionmaker, "user", demo.user("rep1"), team1),
        "rep2": await make_escalation(
            sessionmaker, "user", demo.user("rep2"), demo.units["Los Angeles Team 1"]
        ),
        "team1": await make_escalation(sessionmaker, "org_unit", team1, team1, "orange", 2),
    }


# Who sees what: a rep themself, a manager their subtree (manager1's team escalation included),
# executives and admins everything.
VISIBLE = {
    "rep1": {"rep1"},
    "rep2": {"rep2"},
    "manager1": {"rep1", "team1"},
    "manager2": {"rep2"},
    "exec": {"rep1", "rep2", "team1"},
    "admin": {"rep1", "rep2", "team1"},
}
# Acknowledge needs the current level or above: the team's own manager is not above its escalation.
ACK = {("manager1", "team1"): 403}
# Resolve needs a manager above the subject.
RESOLVE = {("rep1", "rep1"): 403, ("rep2", "rep2"): 403, ("manager1", "team1"): 403}


@pytest.mark.parametrize("who", sorted(VISIBLE))
async def test_scope_matrix(
    client: AsyncTestClient[Any], auth: Any, ladder: dict[str, UUID], who: str
) -> None:
    headers = await auth(who)
    listed = await client.get("/api/v1/escalations", headers=headers)
    assert listed.status_code == 200
    by_id = {v: k for k, v in ladder.items()}
    assert {by_id[UUID(item["id"])] for item in listed.json()["items"]} == VISIBLE[who]
    assert listed.json()["total"] == len(VISIBLE[who])
    missing = await client.get(f"/api/v1/escalations/{uuid4()}", headers=headers)
    for name, escalation_id in ladder.items():
        seen = name in VISIBLE[who]
        detail = await client.get(f"/api/v1/escalations/{escalation_id}", headers=headers)
        assert detail.status_code == (200 if seen else 404), (who, name)
        page = await client.get(f"/escalations/{escalation_id}", headers={**headers, "Accept": "text/html"})
        assert page.status_code == (200 if seen else 404), (who, name)
        ack = await client.post(
            f"/api/v1/escalations/{escalation_id}/ack", json={"note": "seen"}, headers=headers
        )
        assert ack.status_code == (ACK.get((who, name), 200) if seen else 404), (who, name, ack.text)
        resolve = await client.post(
            f"/api/v1/escalations/{escalation_id}/resolve", json={"note": "handled"}, headers=headers
        )
        assert resolve.status_code == (RESOLVE.get((who, name), 200) if seen else 404), (
            who,
            name,
            resolve.text,
        )
        if not seen:  # out of scope reads exactly like an id that does not exist
            assert detail.json()["detail"].replace(str(escalation_id), "ID") == missing.json()[
                "detail"
            ].replace(missing.url.path.rsplit("/", 1)[1], "ID")


async def test_detail_carries_history_and_ack_stops_nothing_else(
    client: AsyncTestClient[Any], auth: Any, ladder: dict[str, UUID], demo: Demo
) -> None:
    headers = await auth("manager1")
    acked = await client.post(
        f"/api/v1/escalations/{ladder['rep1']}/ack", json={"note": "coaching"}, headers=headers
    )
    body = acked.json()
    assert (body["state"], body["acknowledged_by"], body["acknowledged_note"]) == (
        "acknowledged",
        str(demo.user("manager1")),
        "coaching",
    )
    assert [e["event"] for e in body["events"]] == ["opened", "acknowledged"]
    assert body["events"][1]["actor_name"] == "Manager 1 (Shanghai)"
    assert body["snapshot"]["pace"] == "0.6500" and body["subject_name"] == "Rep 1"
    assert body["url"] == f"/escalations/{ladder['rep1']}"
    again = await client.post(f"/api/v1/escalations/{ladder['rep1']}/ack", json={}, headers=headers)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "state"
    resolved = await client.post(
        f"/api/v1/escalations/{ladder['rep1']}/resolve", json={"note": "back on track"}, headers=headers
    )
    assert resolved.json()["state"] == "resolved" and resolved.json()["resolved_note"] == "back on track"
    assert (
        await client.post(
            f"/api/v1/escalations/{ladder['rep1']}/resolve", json={"note": "x"}, headers=headers
        )
    ).status_code == 409


async def test_a_rep_cannot_ack_once_it_has_climbed_past_them(
    client: AsyncTestClient[Any], auth: Any, demo: Demo, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    escalation_id = await make_escalation(
        sessionmaker, "user", demo.user("rep1"), demo.units["Shanghai Team 1"], "orange", 2
    )
    refused = await client.post(
        f"/api/v1/escalations/{escalation_id}/ack", json={}, headers=await auth("rep1")
    )
    assert refused.status_code == 403
    # director1 manages the region above the team: a manager above, so allowed.
    allowed = await client.post(
        f"/api/v1/escalations/{escalation_id}/ack", json={}, headers=await auth("director1")
    )
    assert allowed.status_code == 200


async def test_filters_and_order(client: AsyncTestClient[Any], auth: Any, ladder: dict[str, UUID]) -> None:
    headers = await auth("exec")
    everything = (await client.get("/api/v1/escalations", headers=headers)).json()["items"]
    assert everything[0]["id"] == str(ladder["team1"])  # most severe first
    for query, expected in (
        ("severity=orange", {"team1"}),
        ("level=1", {"rep1", "rep2"}),
        ("state=resolved", set()),
        ("state=active&severity=yellow", {"rep1", "rep2"}),
    ):
        items = (await client.get(f"/api/v1/escalations?{query}", headers=headers)).json()["items"]
        assert {k for k, v in ladder.items() if str(v) in {i["id"] for i in items}} == expected, query
    page = (await client.get("/api/v1/escalations?limit=1&offset=1", headers=headers)).json()
    assert len(page["items"]) == 1 and page["total"] == 3


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("get", "/api/v1/escalations?state=bogus", None, 422, "state"),
        ("get", "/api/v1/escalations?severity=pink", None, 422, "severity"),
        ("get", "/api/v1/escalations?level=7", None, 422, "level"),
        ("get", "/api/v1/escalations?level=high", None, 400, "level"),
        ("get", "/api/v1/escalations?limit=0", None, 400, "limit"),
        ("get", "/api/v1/escalations/not-a-uuid", None, 400, "escalation_id"),
        ("post", "/api/v1/escalations/{id}/ack", {"note": 5}, 400, "note"),
        ("post", "/api/v1/escalations/{id}/ack", {"note": "x" * 1001}, 400, "note"),
        ("post", "/api/v1/escalations/{id}/ack", {"bogus": 1}, 400, "bogus"),
        ("post", "/api/v1/escalations/{id}/resolve", {}, 400, "note"),
        ("post", "/api/v1/escalations/{id}/resolve", {"note": "   "}, 422, "note"),
    ],
)
async def test_bad_input_names_the_field(
    client: AsyncTestClient[Any],
    auth: Any,
    ladder: dict[str, UUID],
    method: str,
    path: str,
    body: Any,
    status: int,
    field: str,
) -> None:
    headers = await auth("exec")
    url = path.replace("{id}", str(ladder["rep1"]))
    response = await (
        client.get(url, headers=headers) if method == "get" else client.post(url, json=body, headers=headers)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_signed_out_is_401(client: AsyncTestClient[Any], ladder: dict[str, UUID]) -> None:
    assert (await client.get("/api/v1/escalations")).status_code == 401
    assert (await client.post(f"/api/v1/escalations/{ladder['rep1']}/ack", json={})).status_code == 401
