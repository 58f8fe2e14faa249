"""Photo review pages (htmx fragments): a customer's photo history, a rep's day of visits with
their photos, and deleting a photo from either (the rep within 24 h, a manager with a reason)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from server.core.access import Principal, Scope
from server.core.deps import DateParam, require_login, require_role
from server.core.errors import ProblemError
from server.core.i18n import gettext as _
from server.core.services import Services
from server.core.templates import redirect, render
from server.services.evidence.photos import REP_DELETE_WINDOW, PhotosService
from server.services.evidence.photos_review import PhotoReviewService
from server.services.tasks.tasks import TasksService

FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _back(target: str | None) -> str:
    """Where to go after a delete: a path of ours, never another site."""
    target = (target or "").strip()
    return target if target.startswith("/") and not target.startswith("//") else "/"


class PhotoPages(Controller):
    guards = (require_login,)
    include_in_schema = False

    @get("/evidence/customers/{customer_id:uuid}/photos")
    async def customer_photos(
        self, request: Request[Any, Any, Any], access: Scope, services: Services, customer_id: UUID
    ) -> Any:
        photos = await services.get(PhotoReviewService).customer_history(access, customer_id)
        return render(
            request,
            "evidence/_customer_photos.html",
            photos=photos,
            back=f"/customers/{customer_id}",
            rep_window=REP_DELETE_WINDOW,
            now=services.clock.now(),
        )

    @get("/evidence/reps/{rep_id:uuid}/day/photos", guards=[require_role("manager", "executive")])
    async def rep_day_photos(
        self,
        request: Request[Any, Any, Any],
        access: Scope,
        services: Services,
        rep_id: UUID,
        date: DateParam = None,
    ) -> Any:
        tasks = services.get(TasksService)
        rep = await tasks.rep_in_scope(rep_id, access)
        day = date or tasks.local_today(rep.timezone)
        visits = await services.get(PhotoReviewService).rep_day(access, rep.id, day, rep.timezone)
        return render(
            request,
            "evidence/_rep_day_photos.html",
            visits=visits,
            rep=rep,
            back=f"/team/reps/{rep.id}/day?date={day.isoformat()}",
            rep_window=REP_DELETE_WINDOW,
            now=services.clock.now(),
        )

    @post("/evidence/photos/{photo_id:uuid}/delete")
    async def delete_photo(
        self, principal: Principal, access: Scope, services: Services, photo_id: UUID, data: FormData
    ) -> Any:
        back = _back(data.get("next"))
        try:
            await services.get(PhotosService).delete(principal, access, photo_id, data.get("reason"))
        except ProblemError as problem:
            if problem.status_code == 404:
                raise
            return redirect(back, "error", str(problem.detail))
        return redirect(back, "success", _("The photo was deleted."))


ROUTES = [PhotoPages]
