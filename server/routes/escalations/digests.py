"""Managers' morning digests: the page each digest push links to, and the same as JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from server.core.access import Principal
from server.core.deps import require_role
from server.core.errors import ProblemError
from server.core.services import Services
from server.core.templates import render
from server.services.escalations.digests import DigestsService, pace_cell_figures


class DigestOut(msgspec.Struct):
    id: UUID
    manager_id: UUID
    local_date: date
    created_at: datetime
    content: dict[str, Any]
    url: str


def _out(digest: Any) -> DigestOut:
    day = digest.local_date.isoformat()
    return DigestOut(
        digest.id, digest.manager_id, digest.local_date, digest.created_at, digest.content, f"/digests/{day}"
    )


async def _own_digest(services: Services, principal: Principal, local_date: date) -> Any:
    digest = await services.get(DigestsService).get(principal.id, local_date)
    if digest is None:
        raise ProblemError(404, f"No digest for {local_date.isoformat()}.")
    return digest


class DigestsApi(Controller):
    path = "/api/v1/digests"
    tags = ("digests",)
    guards = (require_role("manager"),)

    @get("/", summary="The caller's recent morning digests, newest first")
    async def list_digests(
        self, principal: Principal, services: Services, limit: Annotated[int, Parameter(ge=1, le=100)] = 30
    ) -> list[DigestOut]:
        return [_out(d) for d in await services.get(DigestsService).recent(principal.id, limit)]

    @get("/{local_date:str}", summary="The caller's digest for a local date (YYYY-MM-DD)")
    async def get_digest(self, principal: Principal, services: Services, local_date: date) -> DigestOut:
        return _out(await _own_digest(services, principal, local_date))


class DigestPages(Controller):
    path = "/digests"
    include_in_schema = False
    guards = (require_role("manager"),)

    @get("/")
    async def index(self, request: Request[Any, Any, Any], principal: Principal, services: Services) -> Any:
        return render(
            request, "digests/index.html", digests=await services.get(DigestsService).recent(principal.id)
        )

    @get("/{local_date:str}")
    async def show(
        self, request: Request[Any, Any, Any], principal: Principal, services: Services, local_date: date
    ) -> Any:
        digest = await _own_digest(services, principal, local_date)
        pace = [
            {
                **row,
                "revenue": pace_cell_figures(row.get("revenue")),
                "visits": pace_cell_figures(row.get("visits")),
            }
            for row in digest.content.get("pace", [])
        ]
        as_of = date.fromisoformat(digest.content["as_of"]) if digest.content.get("as_of") else None
        return render(
            request, "digests/show.html", digest=digest, content=digest.content, pace=pace, as_of=as_of
        )


ROUTES = [DigestsApi, DigestPages]
