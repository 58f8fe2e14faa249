"""Visit photos API: upload and list a check-in's photos, serve the image and its thumbnail,
delete one. Pages showing photos are in photo_pages.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.openapi.datastructures import ResponseSpec

from server.core.access import Principal, Scope
from server.core.deps import require_login, require_role
from server.core.errors import PROBLEM, field_error
from server.core.services import Services
from server.db.models import VisitPhoto
from server.services.evidence.photos import PhotosService, Upload

# The route's own body ceiling (the app's is 1 MB): PHOTO_MAX_BYTES is then enforced by the
# service with a 413 naming the field. Settings above this ceiling are not honoured.
UPLOAD_BODY_CEILING = 64 * 1024 * 1024
REPLAYED = {"Idempotent-Replayed": "true"}
# Photos are private: the browser may keep them, shared caches may not.
IMAGE_CACHE = "private, max-age=86400"


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(dict[str, Any], description=description, media_type=PROBLEM, generate_examples=False)


class PhotoOut(msgspec.Struct):
    """A stored photo: where it was taken is the check-in's verified position, not the file's."""

    id: UUID
    checkin_id: UUID
    customer_id: UUID
    rep_id: UUID
    content_type: str
    size_bytes: int
    width: int
    height: int
    taken_at: datetime | None
    received_at: datetime
    lat: float | None
    lng: float | None
    geo_status: str
    image_url: str
    thumbnail_url: str

    @classmethod
    def of(cls, photo: VisitPhoto) -> PhotoOut:
        return cls(
            id=photo.id,
            checkin_id=photo.checkin_id,
            customer_id=photo.customer_id,
            rep_id=photo.rep_id,
            content_type=photo.content_type,
            size_bytes=photo.size_bytes,
            width=photo.width,
            height=photo.height,
            taken_at=photo.taken_at,
            received_at=photo.received_at,
            lat=None if photo.lat is None else float(photo.lat),
            lng=None if photo.lng is None else float(photo.lng),
            geo_status=photo.geo_status,
            image_url=f"/api/v1/photos/{photo.id}/image",
            thumbnail_url=f"/api/v1/photos/{photo.id}/thumbnail",
        )


class PhotoDeleteIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


async def _upload(request: Request[Any, Any, Any]) -> Upload:
    """The multipart body: `id` (the phone's UUID), `photo` (the file), `taken_at` (optional)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise field_error("photo", "send multipart/form-data with the file in `photo`", 415)
    form = await request.form()
    raw_id = str(form.get("id") or "").strip()
    try:
        photo_id = UUID(raw_id)
    except ValueError:
        raise field_error("id", "must be the photo's client UUID", 400) from None
    upload = form.get("photo")
    if not isinstance(upload, UploadFile):
        raise field_error("photo", "attach the image file as the form field `photo`", 400)
    taken_at = None
    raw_taken = str(form.get("taken_at") or "").strip()
    if raw_taken:
        try:
            taken_at = datetime.fromisoformat(raw_taken.replace("Z", "+00:00"))
        except ValueError:
            raise field_error("taken_at", "must be an ISO 8601 instant", 400) from None
        if taken_at.tzinfo is None:
            raise field_error("taken_at", "needs a time zone offset (or Z)", 400)
    return Upload(id=photo_id, data=await upload.read(), taken_at=taken_at)


class PhotosApi(Controller):
    path = "/api/v1"
    tags = ("evidence",)
    guards = (require_login,)

    @post(
        "/checkins/{checkin_id:str}/photos",
        guards=[require_role("rep")],
        status_code=201,
        request_max_body_size=UPLOAD_BODY_CEILING,
        summary="Add a photo to the caller's check-in (multipart: id, photo, taken_at?); "
        "201 first time, 200 for a replay of the same id and bytes",
        responses={
            200: ResponseSpec(PhotoOut, description="A replay: the stored photo, unchanged"),
            404: _problem("The check-in is not the caller's (or does not exist)"),
            409: _problem("This id was used for other bytes or another check-in"),
            410: _problem("This photo was deleted; a replay does not bring it back"),
            413: _problem("The file is larger than PHOTO_MAX_BYTES (`photo`)"),
            415: _problem("The content is not a JPEG, PNG or WebP image (`photo`)"),
            422: _problem("Too many pixels, or another rule broken; `errors` names the field"),
        },
    )
    async def add_photo(
        self, request: Request[Any, Any, Any], principal: Principal, services: Services, checkin_id: UUID
    ) -> Response[PhotoOut]:
        photo, created = await services.get(PhotosService).add(principal, checkin_id, await _upload(request))
        return Response(
            PhotoOut.of(photo), status_code=201 if created else 200, headers=None if created else REPLAYED
        )

    @get(
        "/checkins/{checkin_id:str}/photos", summary="The check-in's photos, oldest first (404 outside scope)"
    )
    async def list_photos(self, access: Scope, services: Services, checkin_id: UUID) -> list[PhotoOut]:
        return [PhotoOut.of(p) for p in await services.get(PhotosService).of_checkin(access, checkin_id)]

    @get("/photos/{photo_id:uuid}", summary="One photo's record (404 outside scope)")
    async def get_photo(self, access: Scope, services: Services, photo_id: UUID) -> PhotoOut:
        return PhotoOut.of(await services.get(PhotosService).photo_in_scope(access, photo_id))

    @get("/photos/{photo_id:uuid}/image", summary="The photo (EXIF removed but its capture time)")
    async def image(self, access: Scope, services: Services, photo_id: UUID) -> Response[bytes]:
        photo, data = await services.get(PhotosService).file(access, photo_id, thumbnail=False)
        return _image(data, photo.content_type, photo)

    @get("/photos/{photo_id:uuid}/thumbnail", summary="The photo's JPEG thumbnail")
    async def thumbnail(self, access: Scope, services: Services, photo_id: UUID) -> Response[bytes]:
        photo, data = await services.get(PhotosService).file(access, photo_id, thumbnail=True)
        return _image(data, "image/jpeg", photo)

    @delete(
        "/photos/{photo_id:uuid}",
        status_code=204,
        summary="Delete a photo: its rep within 24 h, a manager or executive with a `reason` (audited)",
    )
    async def delete_photo(
        self,
        principal: Principal,
        access: Scope,
        services: Services,
        photo_id: UUID,
        data: PhotoDeleteIn | None = None,
    ) -> None:
        await services.get(PhotosService).delete(principal, access, photo_id, data.reason if data else None)


def _image(data: bytes, content_type: str, photo: VisitPhoto) -> Response[bytes]:
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": IMAGE_CACHE, "ETag": f'"{photo.upload_sha256[:32]}"'},
    )


ROUTES = [PhotosApi]
