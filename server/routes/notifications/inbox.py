"""The in-app inbox: every notification, pushed or not. Always the caller's own rows only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter

from server.core.access import Principal
from server.core.deps import require_login
from server.core.errors import not_found
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import is_fragment_request, redirect, render
from server.db.models import Notification
from server.services.notifications.outbox import NotificationsService

PAGE_SIZE = 50


class NotificationOut(msgspec.Struct):
    id: UUID
    kind: str
    title: str
    body: str
    url: str | None
    created_at: datetime
    read_at: datetime | None
    delivery: str  # the outbox status: pending | sent | skipped | failed | dead


class NotificationPage(msgspec.Struct):
    items: list[NotificationOut]
    unread_count: int
    next_before: UUID | None  # pass as `before` for the next (older) page


class MarkedRead(msgspec.Struct):
    marked: int


def _out(n: Notification) -> NotificationOut:
    return NotificationOut(n.id, n.kind, n.title, n.body, n.url, n.created_at, n.read_at, n.status)


def safe_target(url: str | None) -> str:
    """Only our own pages: a stored URL never becomes an open redirect."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/inbox"


async def provide_own_notification(
    notification_id: UUID, principal: Principal, services: Services
) -> Notification:
    """The caller's notification, or 404 (someone else's looks exactly like a missing one)."""
    notification = await services.get(NotificationsService).own(principal.id, notification_id)
    if notification is None:
        raise not_found("Notification", notification_id)
    return notification


_OWN = {"notification": Provide(provide_own_notification)}


class NotificationsApi(Controller):
    path = "/api/v1/notifications"
    tags = ("notifications",)
    guards = (require_login,)

    @get("/", summary="The caller's notifications, newest first")
    async def list_notifications(
        self,
        principal: Principal,
        services: Services,
        unread: bool = False,
        limit: Annotated[int, Parameter(ge=1, le=200)] = PAGE_SIZE,
        before: UUID | None = None,
    ) -> NotificationPage:
        inbox = services.get(NotificationsService)
        items = await inbox.inbox(principal.id, unread_only=unread, limit=limit, before=before)
        return NotificationPage(
            items=[_out(n) for n in items],
            unread_count=await inbox.unread_count(principal.id),
            next_before=items[-1].id if len(items) == limit else None,
        )

    @post("/{notification_id:uuid}/read", status_code=200, dependencies=_OWN, summary="Mark one read")
    async def mark_read(
        self, principal: Principal, services: Services, notification: Notification
    ) -> NotificationOut:
        marked = await services.get(NotificationsService).mark_read(principal.id, notification.id)
        return _out(marked or notification)

    @post("/read-all", status_code=200, summary="Mark all of the caller's notifications read")
    async def mark_all_read(self, principal: Principal, services: Services) -> MarkedRead:
        return MarkedRead(marked=await services.get(NotificationsService).mark_all_read(principal.id))


class InboxPages(Controller):
    path = "/inbox"
    include_in_schema = False
    guards = (require_login,)

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        services: Services,
        before: UUID | None = None,
    ) -> Any:
        inbox = services.get(NotificationsService)
        items = await inbox.inbox(principal.id, limit=PAGE_SIZE, before=before)
        return render(
            request,
            "inbox/index.html",
            items=items,
            unread=await inbox.unread_count(principal.id),
            next_before=items[-1].id if len(items) == PAGE_SIZE else None,
            tz=principal.timezone,
        )

    @get("/badge")
    async def badge(self, request: Request[Any, Any, Any], principal: Principal, services: Services) -> Any:
        """The unread count as a fragment the layout can load or poll."""
        count = await services.get(NotificationsService).unread_count(principal.id)
        return render(request, "inbox/_badge.html", unread=count)

    @post("/{notification_id:uuid}/read", dependencies=_OWN)
    async def mark_read(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        services: Services,
        notification: Notification,
    ) -> Any:
        await services.get(NotificationsService).mark_read(principal.id, notification.id)
        if is_fragment_request(request):
            # htmx swaps just this row; the badge listens for the event and reloads itself.
            return render(
                request,
                "inbox/_row.html",
                n=notification,
                tz=principal.timezone,
                trigger_event="inbox-changed",
            )
        return redirect("/inbox")

    @post("/{notification_id:uuid}/open", dependencies=_OWN)
    async def open_notification(
        self, principal: Principal, services: Services, notification: Notification
    ) -> Any:
        """Opening a notification reads it and goes where it points."""
        await services.get(NotificationsService).mark_read(principal.id, notification.id)
        return redirect(safe_target(notification.url))

    @post("/read-all")
    async def mark_all_read(self, principal: Principal, services: Services) -> Any:
        await services.get(NotificationsService).mark_all_read(principal.id)
        return redirect("/inbox", "success", _("All notifications marked read."))


ROUTES = [NotificationsApi, InboxPages]
