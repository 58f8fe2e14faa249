"""The user's own account pages: `/me/settings` (language, time zone, notifications) and the
one-time `/set-password?token=` page an admin's invitation or reset link opens."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.core.access import Principal
from server.core.deps import require_login
from server.core.errors import ProblemError, problem_errors
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect, render
from server.services.auth.users import UsersService

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
LOCALES = (("", "Browser language"), ("en", "English"), ("zh-CN", "简体中文"))


class AccountPages(Controller):
    include_in_schema = False

    @get("/me/settings", guards=[require_login])
    async def settings_page(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal
    ) -> Any:
        user = await services.get(UsersService).get_self(principal.id)
        return render(request, "account/settings.html", me=user, errors={}, locales=LOCALES)

    @post("/me/settings", guards=[require_login])
    async def save_settings(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal, data: Form
    ) -> Any:
        users = services.get(UsersService)
        user = await users.get_self(principal.id)
        changes = {
            "locale": data.get("locale") or None,
            "timezone": (data.get("timezone") or "").strip(),
            "notifications_enabled": data.get("notifications") == "on",
        }
        try:
            await users.update(principal.id, user, changes)
        except ProblemError as problem:
            return render(request, "account/settings.html", status_code=422, me=changes | {"email": principal.email},
                          errors=problem_errors(problem), locales=LOCALES)  # fmt: skip
        return redirect("/me/settings", "success", _("Your settings are saved."))

    @get("/set-password")
    async def set_password_page(
        self, request: Request[Any, Any, Any], services: Services, token: str = ""
    ) -> Any:
        user = await services.get(UsersService).user_for_link(token) if token else None
        return render(request, "account/set_password.html", status_code=200 if user else 400,
                      email=user.email if user else None, token=token, errors={})  # fmt: skip

    @post("/set-password")
    async def set_password(
        self, request: Request[Any, Any, Any], services: Services, data: Form, token: str = ""
    ) -> Any:
        users = services.get(UsersService)
        invited = await users.user_for_link(token) if token else None
        email = invited.email if invited else None
        password = data.get("password") or ""
        errors: dict[str, str] = {}
        if invited is None:
            errors["form"] = _("This link is invalid, used or expired; ask your admin for a new one.")
        elif password != (data.get("confirm") or ""):
            errors["confirm"] = _("The two passwords differ.")
        else:
            try:
                await users.set_password_with_link(token, password)
            except ProblemError as problem:
                errors = problem_errors(problem)
        if errors:
            status = 400 if invited is None else 422
            return render(request, "account/set_password.html", status_code=status, email=email,
                          token=token, errors=errors)  # fmt: skip
        return redirect("/login", "success", _("Your password is set. Sign in with it now."))


ROUTES = [AccountPages]
