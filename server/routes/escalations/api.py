"""Escalations: the JSON API (/api/v1/escalations) and the inbox and detail pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter, QueryParameter

from server.core.access import Principal, Scope
from server.core.deps import require_login
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import is_fragment_request, redirect, render
from server.services.escalations.inbox import (
    EscalationFilter,
    EscalationInbox,
    EscalationView,
    snapshot_figures,
)
from server.services.escalations.ladder import may_resolve, rung_of

Note = Annotated[str, msgspec.Meta(max_length=1000)]


class AckIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Note | None = None


class ResolveIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class EscalationEventOut(msgspec.Struct):
    at: datetime
    event: str  # opened | severity_changed | climbed | acknowledged | reopened | resolved
    from_level: int | None
    to_level: int | None
    severity: str | None
    actor_id: UUID | None
    actor_name: str | None
    note: str | None


class EscalationOut(msgspec.Struct):
    id: UUID
    rule: str
    subject_type: str
    subject_id: UUID
    subject_name: str
    org_unit_id: UUID | None
    severity: str
    level: int  # 1 rep | 2 manager | 3 executive (relative to the subject)
    state: str
    dedup_key: str
    opened_at: datetime
    level_changed_at: datetime
    last_seen_at: datetime
    clear_count: int
    acknowledged_by: UUID | None
    acknowledged_at: datetime | None
    acknowledged_note: str | None
    resolved_by: UUID | None
    resolved_at: datetime | None
    resolved_note: str | None
    snapshot: dict[str, Any]
    url: str

    @classmethod
    def of(cls, view: EscalationView) -> EscalationOut:
        return cls(**_fields(view))


class EscalationDetailOut(EscalationOut):
    events: list[EscalationEventOut] = msgspec.field(default_factory=list)

    @classmethod
    def of(cls, view: EscalationView) -> EscalationDetailOut:
        return cls(**_fields(view), events=[EscalationEventOut(**e) for e in view.events])


class EscalationPage(msgspec.Struct):
    items: list[EscalationOut]
    total: int
    limit: int
    offset: int


def _fields(view: EscalationView) -> dict[str, Any]:
    e = view.escalation
    names = (
        "id rule subject_type subject_id org_unit_id severity level state dedup_key opened_at "
        "level_changed_at last_seen_at clear_count acknowledged_by acknowledged_at acknowledged_note "
        "resolved_by resolved_at resolved_note"
    ).split()
    return {
        **{name: getattr(e, name) for name in names},
        "subject_name": view.subject_name,
        "snapshot": dict(e.snapshot or {}),
        "url": f"/escalations/{e.id}",
    }


class EscalationsApi(Controller):
    path = "/api/v1/escalations"
    tags = ("escalations",)
    guards = (require_login,)

    @get("/", summary="Escalations in the caller's scope: active first, most severe, newest")
    async def list_escalations(
        self,
        access: Scope,
        services: Services,
        state_filter: Annotated[
            str | None, QueryParameter(name="state", description="open|acknowledged|resolved|active")
        ] = None,
        severity: Annotated[str | None, Parameter(description="yellow|orange|red")] = None,
        level: Annotated[int | None, Parameter(description="1 rep, 2 manager, 3 executive")] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000_000)] = 0,
    ) -> EscalationPage:
        filters = EscalationFilter(state_filter, severity, level, limit, offset)
        views, total = await services.get(EscalationInbox).list(access, filters)
        return EscalationPage([EscalationOut.of(v) for v in views], total, limit, offset)

    @get("/{escalation_id:str}", summary="One escalation with its history (404 outside the caller's scope)")
    async def get_escalation(
        self, access: Scope, services: Services, escalation_id: UUID
    ) -> EscalationDetailOut:
        return EscalationDetailOut.of(await services.get(EscalationInbox).get(access, escalation_id))

    @post(
        "/{escalation_id:str}/ack",
        status_code=200,
        summary="Acknowledge: stops the time climb; it stays open until the condition clears",
    )
    async def acknowledge(
        self, principal: Principal, access: Scope, services: Services, escalation_id: UUID, data: AckIn
    ) -> EscalationDetailOut:
        view = await services.get(EscalationInbox).acknowledge(principal, access, escalation_id, data.note)
        return EscalationDetailOut.of(view)

    @post(
        "/{escalation_id:str}/resolve",
        status_code=200,
        summary="Resolve by hand (a manager above the subject)",
    )
    async def resolve(
        self, principal: Principal, access: Scope, services: Services, escalation_id: UUID, data: ResolveIn
    ) -> EscalationDetailOut:
        view = await services.get(EscalationInbox).resolve(principal, access, escalation_id, data.note)
        return EscalationDetailOut.of(view)


FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class EscalationPages(Controller):
    path = "/escalations"
    include_in_schema = False
    guards = (require_login,)

    @get("/")
    async def inbox(self, request: Request[Any, Any, Any], access: Scope, services: Services) -> Any:
        """The inbox: filters by state (active by default), severity and level."""
        query = request.query_params
        state = query.get("state", "active") or None
        level = query.get("level") or None
        if level is not None and not (level.isascii() and level.isdigit()):
            raise ProblemError(
                400, _("level: must be 1, 2 or 3"), [{"field": "level", "message": "not a number"}]
            )
        filters = EscalationFilter(
            state, query.get("severity") or None, int(level) if level else None, limit=100
        )
        views, total = await services.get(EscalationInbox).list(access, filters)
        template = "escalations/_rows.html" if is_fragment_request(request) else "escalations/inbox.html"
        return render(request, template, views=views, total=total, filters=filters)

    @get("/{escalation_id:str}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        escalation_id: UUID,
    ) -> Any:
        return await _detail_page(request, principal, access, services, escalation_id)

    @post("/{escalation_id:str}/ack")
    async def acknowledge(
        self, principal: Principal, access: Scope, services: Services, escalation_id: UUID, data: FormData
    ) -> Any:
        await services.get(EscalationInbox).acknowledge(principal, access, escalation_id, data.get("note"))
        return redirect(f"/escalations/{escalation_id}", "success", _("Acknowledged. It stops climbing."))

    @post("/{escalation_id:str}/resolve")
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        principal: Principal,
        access: Scope,
        services: Services,
        escalation_id: UUID,
        data: FormData,
    ) -> Any:
        note = data.get("note", "")
        if not note.strip():
            errors = {"note": _("Say why it is resolved.")}
            return await _detail_page(request, principal, access, services, escalation_id, errors, 422)
        await services.get(EscalationInbox).resolve(principal, access, escalation_id, note)
        return redirect(f"/escalations/{escalation_id}", "success", _("Resolved."))


async def _detail_page(
    request: Request[Any, Any, Any],
    principal: Principal,
    access: Scope,
    services: Services,
    escalation_id: UUID,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Any:
    inbox = services.get(EscalationInbox)
    view = await inbox.get(access, escalation_id)
    escalation = view.escalation
    rung = rung_of(principal, escalation)
    activity = None
    if escalation.subject_type == "user":
        activity = await inbox.recent_activity(escalation.subject_id)
    return render(
        request,
        "escalations/detail.html",
        status_code=status_code,
        view=view,
        escalation=escalation,
        figures=snapshot_figures(escalation.snapshot or {}),
        activity=activity,
        can_ack=escalation.state == "open" and rung >= escalation.level,
        can_resolve=escalation.state != "resolved" and may_resolve(principal, escalation),
        errors=errors or {},
    )


ROUTES = [EscalationsApi, EscalationPages]
