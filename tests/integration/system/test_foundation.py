"""Foundation: health, readiness, migrations, tokens, problem details, body limits."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.migrate import autogenerate_diff
from tests.conftest import Demo


async def test_migrations_match_models(engine: AsyncEngine) -> None:
    # The session fixture built the schema with `alembic upgrade head`; models must not differ.
    assert await autogenerate_diff(engine) == []


async def test_health_and_readiness(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


async def test_openapi_schema_is_served(client: AsyncTestClient[Any]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/auth/token" in schema["paths"]
    assert "/api/v1/me" in schema["paths"]
    # Error answers are documented as problem+json when the schema is first built (not at app
    # start, server/core/openapi.py), and again when a later route makes Litestar rebuild it.
    refused = schema["paths"]["/api/v1/checkins"]["post"]["responses"]["422"]
    assert list(refused["content"]) == ["application/problem+json"]
    client.app.update_openapi_schema()
    rebuilt = client.app.openapi_schema.paths["/api/v1/checkins"].post.responses
    assert {"401", "422"} <= set(rebuilt) and list(rebuilt["401"].content) == ["application/problem+json"]


async def test_token_and_me(client: AsyncTestClient[Any], demo: Demo) -> None:
    response = await client.post(
        "/api/v1/auth/token", json={"email": "rep1@demo.example", "password": "fieldsales-demo"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "rep1@demo.example" and me.json()["role"] == "rep"
    assert me.json()["id"] == str(demo.user("rep1"))


async def test_me_requires_authentication(client: AsyncTestClient[Any], demo: Demo) -> None:
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    bad = await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


async def test_wrong_password_is_401_without_saying_which_part(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    wrong_password = await client.post(
        "/api/v1/auth/token", json={"email": "rep1@demo.example", "password": "nope"}
    )
    unknown_user = await client.post(
        "/api/v1/auth/token", json={"email": "ghost@demo.example", "password": "nope"}
    )
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json()["detail"] == unknown_user.json()["detail"] == "Invalid email or password."


async def test_burst_of_wrong_passwords_is_rate_limited(client: AsyncTestClient[Any], demo: Demo) -> None:
    statuses = []
    for _ in range(7):
        response = await client.post(
            "/api/v1/auth/token", json={"email": "rep2@demo.example", "password": "wrong"}
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    limited = await client.post(
        "/api/v1/auth/token", json={"email": "rep2@demo.example", "password": "fieldsales-demo"}
    )
    assert limited.status_code == 429, "even the right password waits out the lockout"
    assert int(limited.headers["retry-after"]) > 0


async def test_bad_input_gets_problem_details_naming_the_field(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    malformed = await client.post(
        "/api/v1/auth/token", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("application/problem+json")

    wrong_type = await client.post("/api/v1/auth/token", json={"email": 5, "password": "x"})
    assert wrong_type.status_code == 400
    assert {e["field"] for e in wrong_type.json()["errors"]} == {"email"}

    unknown = await client.post("/api/v1/auth/token", json={"email": "a@b.c", "password": "x", "admin": True})
    assert unknown.status_code == 400
    assert "admin" in {e["field"] for e in unknown.json()["errors"]}

    missing = await client.post("/api/v1/auth/token", json={"email": "a@b.c"})
    assert missing.status_code == 400
    assert "password" in {e["field"] for e in missing.json()["errors"]}


async def test_body_over_one_megabyte_is_rejected(client: AsyncTestClient[Any], demo: Demo) -> None:
    big = b'{"email": "' + b"a" * (1024 * 1024 + 10) + b'", "password": "x"}'
    response = await client.post(
        "/api/v1/auth/token", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_security_headers(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/healthz")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers  # plain http in tests


async def test_metrics_exposes_request_latency_and_database_gauges(
    client: AsyncTestClient[Any], demo: Demo
) -> None:
    await client.get("/healthz")
    body = (await client.get("/metrics")).text
    assert 'fieldsales_request_duration_seconds_count{method="GET",route="/healthz",status="200"}' in body
    assert "fieldsales_outbox_backlog 0.0" in body
    assert 'fieldsales_escalations_open{severity="red"} 0.0' in body


async def test_no_guard_or_dependency_runs_in_a_worker_thread(client: AsyncTestClient[Any]) -> None:
    # Litestar runs plain-function guards and dependencies in a thread pool: a thread hop on
    # every request. Every one the app declares is a coroutine function.
    import inspect

    from litestar.handlers import HTTPRouteHandler

    handlers = [h for route in client.app.routes for h in route.route_handlers]  # type: ignore[union-attr]
    sync: set[str] = set()
    for handler in handlers:
        if not isinstance(handler, HTTPRouteHandler):
            continue
        for layer in handler.ownership_layers:
            for guard in layer.guards or []:
                if not inspect.iscoroutinefunction(guard):
                    sync.add(f"guard {getattr(guard, '__qualname__', guard)}")
        for key, provider in handler.resolve_dependencies().items():
            if provider.sync_to_thread:  # a plain function called inline is fine; a thread is not
                sync.add(f"dependency {key}")
    assert len(handlers) > 100 and sorted(sync) == []


async def test_the_request_dependencies_resolve_one_after_another(client: AsyncTestClient[Any]) -> None:
    # Litestar resolves the dependencies that are ready at the same step concurrently, in an anyio
    # TaskGroup: a task each, dearer than the dependencies (server/core/deps.py). The caller, the
    # scope and the services form one chain, so a check-in resolves them without any TaskGroup.
    from litestar.routes import HTTPRoute

    chain = {"db_session", "services", "principal", "access"}
    checked = 0
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler, kwargs_model in route.route_handler_map.values():
            names = {d.key for batch in kwargs_model.dependency_batches for d in batch}
            if not names <= chain:
                continue
            checked += 1
            sizes = [len(batch) for batch in kwargs_model.dependency_batches]
            assert sizes == [1] * len(sizes), (handler.handler_name, sizes)
    assert checked > 100


async def test_only_bodies_over_a_kilobyte_are_gzipped(
    client: AsyncTestClient[Any], demo: Demo, auth: Any, engine: AsyncEngine, clock: Any
) -> None:
    # A body that fits in one TCP segment gains nothing from gzip but the CPU it costs on both
    # ends: a check-in's answer (~700 bytes) goes out as it is.
    from datetime import timedelta

    from server.app import COMPRESS_FROM_BYTES
    from tests.integration.checkins.test_checkins_support import API, checkin_body, customers_of

    headers = {**(await auth("rep1")), "Accept-Encoding": "gzip"}
    place = (await customers_of(engine, demo.user("rep1"), 1))[0]
    checkin = await client.post(
        API, json=checkin_body(place, clock.now() - timedelta(minutes=30)), headers=headers
    )
    assert checkin.status_code == 201 and "content-encoding" not in checkin.headers
    assert 500 < len(checkin.content) < COMPRESS_FROM_BYTES
    big = await client.get("/schema/openapi.json", headers=headers)
    assert big.status_code == 200 and big.headers["content-encoding"] == "gzip"
    assert len(big.json()["paths"]) > 50  # the client undid the gzip: the whole document is there
