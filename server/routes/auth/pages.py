"""Sign in and out (pages, session cookie) and bearer tokens for API clients."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from server.core.access import Principal
from server.core.deps import require_login
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.security import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    cross_origin,
    login_csrf_ok,
    login_csrf_token,
    new_login_nonce,
)
from server.core.services import Services
from server.core.templates import render
from server.services.auth.accounts import MAX_EMAIL, AuthService, RateLimited
from server.services.auth.users import UsersService

MAX_PASSWORD = 200


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_at: datetime


class Me(msgspec.Struct):
    id: UUID
    email: str
    name: str
    role: str
    org_unit_id: UUID | None
    timezone: str
    locale: str | None
    notifications_enabled: bool = True


class MePatch(msgspec.Struct, forbid_unknown_fields=True):
    locale: str | msgspec.UnsetType | None = msgspec.UNSET
    timezone: str | msgspec.UnsetType = msgspec.UNSET
    notifications_enabled: bool | msgspec.UnsetType = msgspec.UNSET


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(value: str | None) -> str:
    # Only same-site relative paths: never an open redirect.
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


def _login_page(
    request: Request[Any, Any, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Any:
    """The sign-in form with its login-CSRF token (and the nonce cookie it is bound to)."""
    nonce = request.cookies.get(LOGIN_COOKIE) or new_login_nonce()
    secret = request.app.state.settings.effective_secret_key
    context.setdefault("errors", {})
    context.setdefault("email", "")
    context.setdefault("next", _safe_next(request.query_params.get("next")))
    response = render(
        request,
        "auth/login.html",
        status_code=status_code,
        headers=headers,
        csrf_token=login_csrf_token(secret, nonce),
        **context,
    )
    if request.cookies.get(LOGIN_COOKIE) != nonce:
        response.set_cookie(
            LOGIN_COOKIE, nonce, httponly=True, secure=_secure(request), samesite="lax", path="/login"
        )
    return response


class AuthPages(Controller):
    include_in_schema = False

    @get("/login")
    async def login_page(self, request: Request[Any, Any, Any], caller: Principal | None) -> Any:
        if caller is not None:
            return Redirect(_safe_next(request.query_params.get("next")))
        return _login_page(request)

    @post("/login")
    async def login(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Any:
        email = (data.get("email") or "").strip()
        password = data.get("password") or ""
        next_path = _safe_next(data.get("next"))
        if cross_origin(request) or not login_csrf_ok(request, data.get(CSRF_FIELD, "")):
            # Login CSRF: another site must not sign the browser into an account of its choosing.
            expired = {"form": _("This sign-in form has expired. Please try again.")}
            return _login_page(request, 403, errors=expired, email=email[:MAX_EMAIL], next=next_path)
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = _("Enter your email.")
        elif len(email) > MAX_EMAIL:
            errors["email"] = _("An email address has at most 320 characters.")
        if not password:
            errors["password"] = _("Enter your password.")
        elif len(password) > MAX_PASSWORD:
            errors["password"] = _("A password has at most 200 characters.")
        if errors:
            return _login_page(request, 400, errors=errors, email=email[:MAX_EMAIL], next=next_path)
        try:
            user = await services.get(AuthService).authenticate(email, password, client_ip(request))
        except RateLimited as limited:
            return _login_page(
                request,
                429,
                headers={"Retry-After": str(limited.retry_after)},
                errors={"form": _("Too many attempts. Try again later.")},
                email=email,
                next=next_path,
            )
        if user is None:
            # The failed attempt is kept for the security record (keep_when_refused) although 401.
            return _login_page(
                request, 401, errors={"form": _("Invalid email or password.")}, email=email, next=next_path
            )
        issued = await services.get(AuthService).issue(user, "session")
        response = Redirect(next_path, status_code=303)
        # Max-Age, not Expires: the cookie lives exactly as long as the server's session.
        lifetime = int((issued.expires_at - request.app.state.clock.now()).total_seconds())
        response.set_cookie(
            SESSION_COOKIE,
            issued.token,
            max_age=lifetime,
            httponly=True,
            secure=_secure(request),
            samesite="lax",
            path="/",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @post("/logout", guards=[require_login])
    async def logout(self, request: Request[Any, Any, Any], services: Services) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await services.get(AuthService).revoke(token)
        response = Redirect("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


def _secure(request: Request[Any, Any, Any]) -> bool:
    configured = request.app.state.settings.cookie_secure
    return request.url.scheme == "https" if configured is None else bool(configured)


class AuthApi(Controller):
    path = "/api/v1"
    tags = ("auth",)

    @post(
        "/auth/token",
        status_code=200,
        summary="Exchange email and password for a bearer token",
    )
    async def token(
        self, request: Request[Any, Any, Any], services: Services, data: TokenRequest
    ) -> TokenResponse:
        auth = services.get(AuthService)
        try:
            user = await auth.authenticate(data.email, data.password, client_ip(request))
        except RateLimited as limited:
            raise ProblemError(
                429,
                "Too many attempts. Try again later.",
                headers={"Retry-After": str(limited.retry_after)},
            ) from None
        if user is None:
            raise ProblemError(401, "Invalid email or password.")
        issued = await auth.issue(user, "bearer")
        return TokenResponse(access_token=issued.token, token_type="bearer", expires_at=issued.expires_at)

    @get("/me", guards=[require_login], summary="The signed-in user")
    async def me(self, services: Services, principal: Principal) -> Me:
        return _me(await services.get(UsersService).get_self(principal.id))

    @patch("/me", guards=[require_login], summary="Your language, time zone and notifications on/off")
    async def patch_me(self, services: Services, principal: Principal, data: MePatch) -> Me:
        users = services.get(UsersService)
        user = await users.get_self(principal.id)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        await users.update(principal.id, user, changes)
        return _me(user)


def _me(user: Any) -> Me:
    return Me(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        org_unit_id=user.org_unit_id,
        timezone=user.timezone,
        locale=user.locale,
        notifications_enabled=user.notifications_enabled,
    )


ROUTES = [AuthPages, AuthApi]
