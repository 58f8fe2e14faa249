"""SecurityHeadersMiddleware on a bare ASGI app: each header once, a handler's own kept, HSTS only
over https, the schema pages' looser CSP."""

from __future__ import annotations

from typing import Any

from server.core.security import CSP, SCHEMA_CSP, SecurityHeadersMiddleware


async def _headers(
    path: str, scheme: str = "http", own: list[tuple[bytes, bytes]] | None = None
) -> list[tuple[bytes, bytes]]:
    sent: list[dict[str, Any]] = []

    async def app(_scope: Any, _receive: Any, send: Any) -> None:
        start: dict[str, Any] = {"type": "http.response.start", "status": 200}
        if own is not None:
            start["headers"] = list(own)
        await send(start)
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "path": path, "scheme": scheme, "method": "GET", "headers": []}
    await SecurityHeadersMiddleware().handle(scope, receive, send, app)  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    return list(sent[0]["headers"])


def _values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for key, value in headers if key.lower() == name]


async def test_every_header_once_and_no_hsts_over_http() -> None:
    headers = await _headers("/today", own=[(b"content-type", b"text/html")])
    assert _values(headers, b"content-security-policy") == [CSP.encode()]
    for name, value in (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
    ):
        assert _values(headers, name) == [value]
    assert _values(headers, b"content-type") == [b"text/html"]
    assert _values(headers, b"strict-transport-security") == []


async def test_a_header_the_handler_set_is_kept() -> None:
    own = [(b"Content-Security-Policy", b"default-src 'none'"), (b"X-Frame-Options", b"SAMEORIGIN")]
    headers = await _headers("/photo", own=own)
    assert _values(headers, b"content-security-policy") == [b"default-src 'none'"]
    assert _values(headers, b"x-frame-options") == [b"SAMEORIGIN"]
    assert _values(headers, b"x-content-type-options") == [b"nosniff"]


async def test_hsts_over_https_and_the_schema_pages_csp() -> None:
    headers = await _headers("/schema/swagger", scheme="https")
    assert _values(headers, b"strict-transport-security") == [b"max-age=31536000; includeSubDomains"]
    assert _values(headers, b"content-security-policy") == [SCHEMA_CSP.encode()]
    assert await _headers("/today") != await _headers("/today", scheme="https")
    no_headers = await _headers("/today", own=None)  # a start message without a headers list
    assert _values(no_headers, b"content-security-policy") == [CSP.encode()]
