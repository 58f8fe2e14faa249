"""Authentication (bearer token or session cookie), CSRF for cookie sessions, security headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from litestar.connection import Request
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import ASGIMiddleware

from server.core import i18n
from server.core.access import Principal
from server.core.tokens import principal_for_token

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "fs_session"
# Login CSRF: the sign-in form carries HMAC(secret, nonce) where the nonce is this cookie's value,
# so a form posted from another site (which can neither read nor set the cookie) is refused.
LOGIN_COOKIE = "fs_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "_csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths that need no identity at all (static assets, health, the login itself).
# Signing in needs no CSRF token: a stale session cookie must not block getting a new one.
CSRF_EXEMPT = frozenset({"/login", "/api/v1/auth/token"})
PUBLIC_PREFIXES = (
    "/static/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/sw.js",
    "/manifest.webmanifest",
)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Litestar's /schema pages load their UI from a CDN and inline script; give them their own CSP.
SCHEMA_CSP = "default-src 'self' https: 'unsafe-inline'; frame-ancestors 'none'"


class AuthMiddleware(ASGIMiddleware):
    """Puts the Principal (or None) in scope["user"]; enforces CSRF on cookie-authenticated writes."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = None
        path: str = scope["path"]
        request: Request = Request(scope, receive)
        if not path.startswith(PUBLIC_PREFIXES):
            principal = await _resolve(request)
            scope["user"] = principal
            i18n.current_locale.set(
                i18n.negotiate(
                    principal.locale if principal else None,
                    request.headers.get("accept-language"),
                )
            )
            if (
                principal is not None
                and principal.auth == "session"
                and request.method in UNSAFE_METHODS
                and path not in CSRF_EXEMPT
            ):
                await _check_csrf(request, principal)
        else:
            i18n.current_locale.set(i18n.negotiate(None, request.headers.get("accept-language")))
        await next_app(scope, receive, send)


async def _resolve(request: Request) -> Principal | None:
    app_state = request.app.state
    authorization = request.headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        token, kind = authorization[7:].strip(), "bearer"
    else:
        token, kind = request.cookies.get(SESSION_COOKIE, ""), "session"
    if not token or len(token) > 200:
        if kind == "bearer":
            raise NotAuthorizedException(detail="Invalid bearer token.")
        return None
    principal = await principal_for_token(
        app_state.sessionmaker,
        token,
        kind,
        app_state.clock.now(),
        app_state.settings.effective_secret_key,
        app_state.get("token_cache"),
    )
    if principal is None and kind == "bearer":
        raise NotAuthorizedException(detail="Invalid or expired bearer token.")
    return principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    presented = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not presented and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        # Litestar caches the parsed body on the scope, so the handler can still read it.
        form = await request.form()
        presented = str(form.get(CSRF_FIELD, ""))
    if not presented or not hmac.compare_digest(presented, principal.csrf_token):
        raise PermissionDeniedException(detail="Missing or invalid CSRF token; reload the page.")


def login_csrf_token(secret_key: str, nonce: str) -> str:
    return hmac.new(secret_key.encode(), f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def cross_origin(request: Request) -> bool:
    """A browser says where a request comes from: refuse sign-ins posted by another site."""
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    return urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower()


def login_csrf_ok(request: Request, presented: str) -> bool:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    secret = request.app.state.settings.effective_secret_key
    return bool(nonce and presented) and hmac.compare_digest(presented, login_csrf_token(secret, nonce))


def _encoded(*pairs: tuple[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs)


_ALWAYS = _encoded(
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "geolocation=(self), camera=(), microphone=()"),
)
_PAGE_HEADERS = _encoded(("Content-Security-Policy", CSP)) + _ALWAYS
_SCHEMA_HEADERS = _encoded(("Content-Security-Policy", SCHEMA_CSP)) + _ALWAYS
_HSTS = _encoded(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))


class SecurityHeadersMiddleware(ASGIMiddleware):
    """CSP without inline script, no framing, no sniffing; HSTS only when served over https.

    A header the handler set itself is kept. The raw header list is extended in one pass (every
    response passes here: a lookup per header through MutableScopeHeaders cost ~35 us a response)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        wanted = _SCHEMA_HEADERS if scope["path"].startswith("/schema") else _PAGE_HEADERS
        if scope.get("scheme") == "https":
            wanted += _HSTS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                if not isinstance(headers, list):
                    headers = message["headers"] = list(headers)
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in wanted if pair[0] not in present)
            await send(message)

        await next_app(scope, receive, send_with_headers)
