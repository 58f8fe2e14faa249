"""Page rendering: one URL, two renderings (full page, or a fragment for htmx requests)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response
from litestar.plugins.htmx import HTMXDetails, HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template

from server.config import ROOT
from server.core import i18n
from server.core.i18n import gettext as _

TEMPLATES_DIR = ROOT / "web" / "templates"
STATIC_DIR = ROOT / "web" / "static"
FLASH_COOKIE = "fs_flash"


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    key: str
    active: bool = False


@dataclass(frozen=True)
class Flash:
    category: str
    message: str


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, at render time."""
    return message


# Navigation per role (labels are msgids, translated at render time).
NAV: dict[str, list[tuple[str, str, str]]] = {
    "rep": [
        ("/", N_("Today"), "today"),
        ("/customers", N_("Customers"), "customers"),
        ("/opportunities", N_("Deals"), "deals"),
        ("/progress", N_("Progress"), "progress"),
        ("/inbox", N_("Inbox"), "inbox"),
    ],
    "manager": [
        ("/team", N_("Team"), "team"),
        ("/standup", N_("Stand-up"), "standup"),
        ("/escalations", N_("Escalations"), "escalations"),
        ("/plans", N_("Plans"), "plans"),
        ("/customers", N_("Customers"), "customers"),
    ],
    "executive": [
        ("/org", N_("Organisation"), "org"),
        ("/escalations", N_("Escalations"), "escalations"),
        ("/plans", N_("Plans"), "plans"),
    ],
    "admin": [
        ("/org", N_("Organisation"), "org"),
        ("/plans", N_("Plans"), "plans"),
        ("/customers", N_("Customers"), "customers"),
        ("/admin", N_("Admin"), "admin"),
    ],
}


def nav_for(role: str | None, path: str) -> list[NavItem]:
    items = NAV.get(role or "", [])

    def is_active(href: str) -> bool:
        return path == href or (href != "/" and path.startswith(href + "/")) or path == href

    return [NavItem(href, _(label), key, is_active(href)) for href, label, key in items]


@cache
def _asset_hash(path: str) -> str:
    file = STATIC_DIR / path
    return hashlib.sha256(file.read_bytes()).hexdigest()[:10] if file.exists() else "0"


def static_url(path: str) -> str:
    """Cache-busted URL: assets are served immutable, so the hash changes the URL."""
    return f"/static/{path}?v={_asset_hash(path)}"


def create_jinja_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.select_plural, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(static_url=static_url, app_name="FieldSales")
    env.filters.update(
        number=i18n.format_number,
        money=i18n.format_money,
        percent=i18n.format_percent,
        date=i18n.format_date,
        datetime=i18n.format_datetime,
    )
    return env


def is_fragment_request(request: Request[Any, Any, Any]) -> bool:
    """htmx requests get the fragment, except boosted navigations, which swap the whole body."""
    htmx = request.htmx if isinstance(request, HTMXRequest) else HTMXDetails(request)
    return bool(htmx) and not htmx.boosted


def read_flashes(request: Request[Any, Any, Any]) -> list[Flash]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
        return [Flash(str(c), str(m)) for c, m in items][:5]
    except (ValueError, TypeError):
        return []


@cache
def _has_flash_region(template: str) -> bool:
    """Pages extend the layout (base.html, or _fragment.html for htmx), which shows the flashes;
    partials such as the inbox badge do not."""
    source = (TEMPLATES_DIR / template).read_text(encoding="utf-8")
    return "extends base_template" in source


def _shows_flashes(request: Request[Any, Any, Any], template: str) -> bool:
    """Only a response that displays the flash may consume it. Otherwise a background request
    that crosses the redirect (the inbox badge's poll, the service worker precaching the offline
    page) would take the cookie, and the page the user lands on would say nothing."""
    if not _has_flash_region(template):
        return False
    if request.headers.get("hx-request") or request.headers.get("x-fieldsales-page"):
        return True  # htmx, or the service worker fetching a page for a navigation (sw.js)
    # A document load (or a client without fetch metadata); not a script's fetch().
    return request.headers.get("sec-fetch-dest", "document") == "document"


def flash(response: Response[Any], category: str, message: str) -> Response[Any]:
    """Queue a message for the next page (Post/Redirect/Get)."""
    payload = base64.urlsafe_b64encode(json.dumps([[category, message]]).encode()).decode()
    response.set_cookie(FLASH_COOKIE, payload, max_age=60, httponly=True, samesite="lax", path="/")
    return response


def render(
    request: Request[Any, Any, Any],
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    trigger_event: str | None = None,
    **context: Any,
) -> Template:
    """Render a page with the common context every template relies on.

    `trigger_event` names an event htmx fires on the page when the response arrives (HX-Trigger).
    """
    user = request.scope.get("user")
    flashes = read_flashes(request) if _shows_flashes(request, template) else []
    ctx = {
        "request": request,
        "base_template": "_fragment.html" if is_fragment_request(request) else "base.html",
        "user": user,
        "nav": nav_for(user.role if user else None, request.url.path),
        "csrf_token": user.csrf_token if user else "",
        "flashes": flashes,
        "locale": i18n.current_locale.get(),
        "locale_tag": i18n.locale_tag(),
        **context,
    }
    response = HTMXTemplate(
        template_name=template,
        context=ctx,
        status_code=status_code,
        headers=headers,
        media_type=MediaType.HTML,
        trigger_event=trigger_event,
        after="receive",
    )
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(path: str, category: str | None = None, message: str | None = None) -> Redirect:
    response = Redirect(path, status_code=303)
    if category and message:
        flash(response, category, message)
    return response
