"""The hand-made bad inputs of issue 21, as a table, on SQLite and PostgreSQL: each is a 4xx (the
API's naming the field in problem+json), never a 500, and nothing is stored.

Dates outside 1970-2100, `²` where a number goes, sNaN / Infinity / 1e999999999 amounts, JSON
nested 1,000 deep, a CSV cell over 128 KB, invalid UUIDs in a form, NUL bytes in stored and
searched text, form text longer than its column, a string where a number goes, offsets past int64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.models import Order, Target, TargetAdjustment, Task
from tests.conftest import Demo


@dataclass
class Case:
    who: str
    method: str
    path: str  # `{customer}`, `{target}`, `{rep}`, `{checkin}` are filled in
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    content: bytes | None = None
    names: str | None = None  # the field the problem must name (API only)
    # Besides a 4xx: a page that falls back to its default (200), a form that redirects back
    # with the error shown (303). Never a 5xx, and never anything stored.
    also: tuple[int, ...] = ()


AMOUNTS = ["sNaN", "NaN", "Infinity", "-Infinity", "1e999999999", ".74484819E8304454", "1e-9", ""]
FAR_DATES = ["0001-01-01", "9999-12-31", "1969-12-31", "2101-01-01"]
NUL = "a\x00b"

CASES: list[Case] = [
    *[Case("rep1", "GET", "/api/v1/me/tasks", params={"date": d}, names="date") for d in FAR_DATES],
    *[Case("manager1", "GET", "/api/v1/orders", params={"from": d}, names="from") for d in FAR_DATES[:2]],
    Case("manager1", "GET", "/api/v1/targets", params={"to": "9999-12-31"}, names="to"),
    Case("rep1", "GET", "/api/v1/checkins", params={"from": "0001-01-01"}, names="from"),
    Case("rep1", "GET", "/api/v1/progress", params={"as_of": "0001-01-01"}, names="as_of"),
    Case("manager1", "GET", "/api/v1/standup", params={"date": "9999-12-31"}, names="date"),
    Case("manager1", "GET", "/api/v1/digests/0001-01-01", names="local_date"),
    Case("rep1", "POST", "/api/v1/me/plan/regenerate", params={"date": "9999-12-31"}, names="date"),
    Case(
        "rep1",
        "POST",
        "/api/v1/me/tasks",
        json={"title": "x", "local_date": "9999-12-31"},
        names="local_date",
    ),
    Case(
        "manager1",
        "PATCH",
        "/api/v1/customers/{customer}",
        json={"grade_override": "A", "reason": "r", "until": "9999-12-31"},
        names="until",
    ),
    *[
        Case(
            "manager1",
            "POST",
            "/api/v1/targets",
            json={
                "scope": "user",
                "scope_id": "{rep}",
                "metric": "revenue",
                "granularity": "month",
                "period_start": d,
                "amount": "1000",
            },
            names="period_start",
        )
        for d in ("0001-01-01", "9999-12-01")
    ],
    *[
        Case(
            "manager1",
            "POST",
            "/api/v1/orders",
            json={"customer_id": "{customer}", "amount": a, "ordered_on": "2026-11-17"},
            names="amount",
        )
        for a in AMOUNTS
    ],
    Case(
        "manager1",
        "POST",
        "/api/v1/orders",
        content=b'{"customer_id": "{customer}", "amount": 1e999999999, "ordered_on": "2026-11-17"}',
    ),
    Case(
        "manager1",
        "POST",
        "/api/v1/orders",
        json={"customer_id": "{customer}", "amount": "10", "ordered_on": "9999-12-31"},
        names="ordered_on",
    ),
    *[
        Case(
            "manager1",
            "POST",
            "/api/v1/targets",
            json={
                "scope": "user",
                "scope_id": "{rep}",
                "metric": "revenue",
                "granularity": "month",
                "period_start": "2026-12-01",
                "amount": a,
            },
            names="amount",
        )
        for a in AMOUNTS[:5]
    ],
    Case(
        "manager1",
        "POST",
        "/api/v1/targets/{target}/adjustments",
        json={"new_amount": "sNaN", "reason": "x"},
        names="new_amount",
    ),
    Case("manager1", "POST", "/api/v1/targets/{target}/replan", json={"amount": "Infinity"}, names="amount"),
    Case("manager1", "POST", "/api/v1/orders", content=b"[" * 1000 + b"]" * 1000, names="body"),
    Case("manager1", "POST", "/api/v1/orders", content=b'{"a":' * 1000 + b"1" + b"}" * 1000, names="body"),
    Case(
        "rep1",
        "POST",
        "/api/v1/checkins",
        json={
            "id": "0b7d9bd4-3f4e-4c8e-9d4e-1d2f3a4b5c6d",
            "customer_id": "{customer}",
            "checked_in_at": "2026-11-18T01:55:00Z",
            "lat": "31.2",
            "lng": 121.4,
            "accuracy_m": 10,
        },
        names="lat",
    ),
    Case(
        "rep1",
        "POST",
        "/api/v1/checkins",
        json={
            "id": "0b7d9bd4-3f4e-4c8e-9d4e-1d2f3a4b5c6e",
            "customer_id": "{customer}",
            "checked_in_at": "9999-12-31T00:00:00Z",
            "lat": 31.2,
            "lng": 121.4,
            "accuracy_m": 10,
        },
        names="checked_in_at",
    ),
    Case("rep1", "GET", "/api/v1/customers", params={"q": NUL}, names="q"),
    Case("rep1", "GET", "/api/v1/customers", params={"sort": "name\x00"}, names="sort"),
    Case("rep1", "POST", "/api/v1/me/tasks", json={"title": NUL}, names="title"),
    Case("rep1", "POST", "/api/v1/me/tasks", json={"title": "ok", "note": NUL}, names="note"),
    Case("exec", "POST", "/api/v1/targets/{target}/return", json={"comment": NUL}, names="comment"),
    Case(
        "manager1",
        "PATCH",
        "/api/v1/customers/{customer}",
        json={"grade_override": "A", "reason": NUL},
        names="reason",
    ),
    Case(
        "exec",
        "POST",
        "/api/v1/seasonal-distributions",
        json={"name": NUL, "month_weights": {"1": "100"}},
        names="name",
    ),
    Case("manager1", "GET", "/api/v1/orders", params={"offset": str(2**63)}),
    Case("manager1", "GET", "/api/v1/customers", params={"offset": str(2**64)}, names="offset"),
    Case("manager1", "GET", "/api/v1/customers", params={"limit": "²"}, names="limit"),
    Case("manager1", "GET", "/api/v1/escalations", params={"level": "²"}),
    Case(
        "admin",
        "POST",
        "/api/v1/import/customers",
        content=b"external_ref,name\nC-1," + b"x" * 140_000 + b"\n",
        names="file",
    ),
    Case(
        "admin",
        "POST",
        "/api/v1/import/customers",
        content=b'external_ref,name\nC-1,"' + b"x" * 140_000 + b'"\n',
    ),
    Case(
        "admin", "POST", "/api/v1/import/customers", content=b"external_ref,name\nC-1,a\x00b\n", names="name"
    ),
    Case(
        "admin",
        "POST",
        "/api/v1/import/orders",
        content=b"external_ref,customer_ref,amount,ordered_on\nO-1,C-1,sNaN,2026-11-17\n",
    ),
    Case(
        "admin",
        "POST",
        "/api/v1/import/orders",
        content=b"external_ref,customer_ref,amount,ordered_on\nO-1,C-1,10,0001-01-01\n",
    ),
    # plans (issue 20): adjustments with a mode, breakdowns, decisions
    Case(
        "manager1",
        "POST",
        "/api/v1/targets/{approved}/adjustments",
        json={"new_amount": "sNaN", "reason": "x", "mode": "parent"},
        names="new_amount",
    ),
    Case(
        "manager1",
        "POST",
        "/api/v1/targets/{approved}/adjustments",
        json={"new_amount": "51000", "reason": "x", "mode": "sideways"},
        names="mode",
    ),
    Case(
        "manager1",
        "POST",
        "/api/v1/targets/{approved}/adjustments",
        json={"new_amount": "51000", "reason": NUL, "mode": "parent"},
        names="reason",
    ),
    Case(
        "manager1",
        "POST",
        "/api/v1/targets/{approved}/adjustments",
        json={"new_amount": "51000", "reason": "x", "mode": 1},
        names="mode",
    ),
    Case(
        "manager1",
        "POST",
        "/api/v1/targets/{target}/breakdown",
        json={"dimension": "time", "granularity": "week", "weights": {"12": "1e999999999"}},
        names="weights",
    ),
    Case(
        "manager1",
        "POST",
        "/api/v1/targets/{target}/breakdown",
        json={"dimension": "org", "method": "explicit", "shares": {"not-a-uuid": "10"}},
        names="shares",
    ),
    Case("exec", "POST", "/api/v1/adjustments/{checkin}/approve", json={"note": NUL}, names="note"),
    Case("manager1", "GET", "/api/v1/adjustments", params={"target_id": "nope"}, names="target_id"),
    # pages and forms
    Case("manager1", "GET", "/customers", params={"page": "²"}, also=(200,)),
    Case("manager1", "GET", "/customers", params={"q": NUL}),
    Case("manager1", "GET", "/escalations", params={"level": "²"}),
    Case("manager1", "GET", "/team/reps/{rep}/day", params={"date": "9999-12-31"}),
    Case("manager1", "GET", "/standup", params={"date": "0001-01-01"}),
    Case("rep1", "GET", "/progress", params={"as_of": "9999-12-31"}),
    Case("admin", "POST", "/admin/visit-policy", form={"A": "²", "B": "14", "C": "30", "D": "60"}),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{target}/breakdown",
        form={"dimension": "org", "method": "explicit", "share_not-a-uuid": "10"},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{target}/breakdown",
        form={"dimension": "time", "granularity": "month", "distribution_id": "nope"},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/new",
        form={"scope": "user", "scope_id": "{rep}", "period": "2026-12", "amount": "sNaN"},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{target}/adjust",
        form={"new_amount": "1e999999999", "reason": "x"},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{approved}/adjust",
        form={"new_amount": "51000", "reason": "x", "mode": "sideways"},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{approved}/adjust",
        form={"new_amount": "51000", "reason": "x", "mode": NUL},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{approved}/adjust",
        form={"new_amount": "sNaN", "reason": "x", "mode": "parent"},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{target}/breakdown/preview",
        form={"dimension": "org", "method": "explicit", "share_not-a-uuid": "10"},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{target}/breakdown/preview",
        form={"dimension": "org", "method": "explicit", "share_{rep}": "1e999999999"},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{target}/breakdown/preview",
        form={"dimension": "time", "granularity": "week", "distribution_id": "nope"},
    ),
    Case(
        "manager1",
        "POST",
        "/plans/targets/{target}/breakdown/preview",
        form={"dimension": "time", "granularity": "²", "method": NUL},
    ),
    Case(
        "manager1",
        "POST",
        "/customers/{customer}/override",
        form={"grade_override": "A", "until": "9999-12-31"},
    ),
    Case("manager1", "POST", "/customers/{customer}/override", form={"grade_override": "A", "reason": NUL}),
    Case(
        "manager1",
        "POST",
        "/customers/{customer}/override",
        form={"grade_override": "A", "reason": "r" * 20_000},
    ),
    Case("rep1", "POST", "/tasks", form={"title": "t" * 5000}, also=(303,)),
    Case("rep1", "POST", "/tasks", form={"title": "t" * 301}, also=(303,)),
    Case("rep1", "POST", "/tasks", form={"title": NUL}),
    Case("manager1", "POST", "/team/reps/{rep}/tasks", form={"local_date": "0001-01-01", "title": "x"}),
    Case("manager1", "POST", "/team/reps/{rep}/tasks", form={"customer_id": "not-a-uuid", "title": "x"}),
]


async def _ids(
    client: AsyncTestClient[Any], demo: Demo, manager: dict[str, str], auth: Any
) -> dict[str, str]:
    customers = await client.get("/api/v1/customers", params={"limit": 1, "owner_rep_id": str(demo.user("rep1"))}, headers=manager)  # fmt: skip
    target = await client.post(
        "/api/v1/targets",
        json={"scope": "user", "scope_id": str(demo.user("rep1")), "metric": "revenue",
              "granularity": "month", "period_start": "2026-12-01", "amount": "50000"},
        headers=manager,
    )  # fmt: skip
    assert target.status_code == 201, target.text
    approved = await client.post(
        "/api/v1/targets",
        json={"scope": "user", "scope_id": str(demo.user("rep1")), "metric": "revenue",
              "granularity": "month", "period_start": "2027-01-01", "amount": "50000"},
        headers=manager,
    )  # fmt: skip
    assert approved.status_code == 201, approved.text
    submitted = await client.post(f"/api/v1/targets/{approved.json()['id']}/submit", headers=manager)
    assert submitted.status_code == 200, submitted.text
    decided = await client.post(
        f"/api/v1/targets/{approved.json()['id']}/approve", headers=await auth("exec")
    )
    assert decided.status_code == 200, decided.text
    return {
        "customer": customers.json()["items"][0]["id"],
        "target": target.json()["id"],
        "approved": approved.json()["id"],
        "rep": str(demo.user("rep1")),
        "checkin": "0b7d9bd4-3f4e-4c8e-9d4e-1d2f3a4b5c6d",
    }


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, real in ids.items():
            value = value.replace("{" + name + "}", real)
        return value
    if isinstance(value, bytes):
        return _fill(value.decode("latin-1"), ids).encode("latin-1")
    if isinstance(value, dict):
        return {_fill(k, ids): _fill(v, ids) for k, v in value.items()}
    return value


async def _counts(engine: AsyncEngine) -> tuple[int, int, int, int]:
    async with engine.connect() as connection:
        return (
            await connection.scalar(select(func.count()).select_from(Order)),
            await connection.scalar(select(func.count()).select_from(Target)),
            await connection.scalar(select(func.count()).select_from(Task)),
            await connection.scalar(select(func.count()).select_from(TargetAdjustment)),
        )


async def test_every_hand_made_bad_input_is_a_4xx_naming_its_field(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine
) -> None:
    ids = await _ids(client, demo, await auth("manager1"), auth)
    before = await _counts(engine)
    failures: list[str] = []
    for case in CASES:
        headers = dict(await auth(case.who))
        kwargs: dict[str, Any] = {"params": _fill(case.params, ids), "headers": headers}
        if case.json is not None:
            kwargs["json"] = _fill(case.json, ids)
        elif case.form is not None:
            kwargs["data"] = _fill(case.form, ids)
        elif case.content is not None:
            kwargs["content"] = _fill(case.content, ids)
            headers["content-type"] = "text/csv" if "/import/" in case.path else "application/json"
        response = await client.request(case.method, _fill(case.path, ids), follow_redirects=False, **kwargs)
        label = f"{case.who} {case.method} {case.path} {case.params or ''}{str(case.json or case.form or '')[:80]}"
        if response.status_code in case.also:
            continue
        if not 400 <= response.status_code < 500:
            failures.append(f"{label} -> {response.status_code}: {response.text[:200]}")
            continue
        if case.path.startswith("/api/"):
            if not response.headers["content-type"].startswith("application/problem+json"):
                failures.append(f"{label}: not problem+json")
            elif case.names is not None:
                fields = [e.get("field", "") for e in response.json().get("errors", [])]
                if not any(case.names in f for f in fields):
                    failures.append(f"{label}: names {fields}, expected {case.names!r}")
    assert failures == [], "\n".join(failures)
    assert await _counts(engine) == before, "a refused request stored something"


async def test_a_manager_pins_only_the_reps_own_customers(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine
) -> None:
    manager = await auth("manager1")
    listing = await client.get("/api/v1/customers", params={"limit": 200}, headers=manager)
    others = [c for c in listing.json()["items"] if c["owner_rep_id"] not in (None, str(demo.user("rep1")))]
    assert others, "manager1's team has customers of another rep"
    before = await _counts(engine)
    pinned = await client.post(
        f"/api/v1/reps/{demo.user('rep1')}/tasks", json={"customer_id": others[0]["id"]}, headers=manager
    )
    assert pinned.status_code == 422, pinned.text
    assert pinned.json()["errors"][0]["field"] == "customer_id"
    assert await _counts(engine) == before


async def test_the_set_target_form_names_nothing_outside_the_scope(
    client: AsyncTestClient[Any], demo: Demo, auth: Any
) -> None:
    stranger = next(
        u for name, u in demo.users.items() if name.startswith("rep") and name not in ("rep1", "rep2")
    )
    page = await client.post(
        "/plans/targets/new",
        data={"scope": "user", "scope_id": str(stranger), "period": "2026-12", "amount": "x"},
        headers=await auth("manager1"),
        follow_redirects=False,
    )
    assert page.status_code == 404
    names = await client.get(f"/api/v1/customers?owner_rep_id={stranger}", headers=await auth("exec"))
    assert all(c["owner_name"] not in page.text for c in names.json()["items"] if c["owner_name"])
