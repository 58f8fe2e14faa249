"""Web Push: the VAPID public key and the caller's push subscriptions."""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Controller, Request, delete, get, post

from server.core.access import Principal
from server.core.deps import require_login
from server.core.errors import ProblemError, not_found
from server.core.services import Services
from server.services.notifications.push import PushSubscriptionsService

_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _b64url_bytes(value: str) -> bytes | None:
    if not _B64URL.match(value):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None


def _endpoint_problem(endpoint: str, allow_insecure_localhost: bool) -> str | None:
    """Why an endpoint is unacceptable, or None. The server POSTs to it, so no private hosts."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return "must be an absolute https URL"
    if not host:
        return "must be an absolute https URL"
    if allow_insecure_localhost and host in _LOCAL_HOSTS and parts.scheme in ("http", "https"):
        return None
    if parts.scheme != "https":
        return "must be an https URL"
    if parts.username or parts.password:
        return "must not contain credentials"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "must be a push service host" if host.endswith("localhost") else None
    return None if address.is_global else "must be a public push service address"


def subscription_errors(
    endpoint: str, p256dh: str, auth: str, allow_insecure_localhost: bool = False
) -> list[dict[str, str]]:
    """Each offending field with its rule (empty when the subscription is usable)."""
    errors: list[dict[str, str]] = []
    problem = _endpoint_problem(endpoint, allow_insecure_localhost)
    if problem:
        errors.append({"field": "endpoint", "message": problem})
    point = _b64url_bytes(p256dh)
    valid_point = point is not None and len(point) == 65 and point[0] == 0x04
    if valid_point:
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)  # type: ignore[arg-type]
        except ValueError:
            valid_point = False
    if not valid_point:
        errors.append(
            {"field": "keys.p256dh", "message": "must be base64url of a 65-byte uncompressed P-256 point"}
        )
    secret = _b64url_bytes(auth)
    if secret is None or len(secret) != 16:
        errors.append({"field": "keys.auth", "message": "must be base64url of 16 bytes"})
    return errors


class SubscriptionKeys(msgspec.Struct, forbid_unknown_fields=True):
    p256dh: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    auth: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class SubscriptionIn(msgspec.Struct, forbid_unknown_fields=True):
    """The shape of the browser's PushSubscription.toJSON()."""

    endpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    keys: SubscriptionKeys
    # Part of toJSON(); accepted so a client may post it whole, but push services expire
    # subscriptions by answering 404/410, which is what disables them here.
    expirationTime: int | float | None = None


class SubscriptionRef(msgspec.Struct, forbid_unknown_fields=True):
    endpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class SubscriptionOut(msgspec.Struct):
    endpoint: str
    active: bool


class VapidKey(msgspec.Struct):
    public_key: str


class PushApi(Controller):
    path = "/api/v1/push"
    tags = ("push",)

    @get("/vapid-public-key", summary="The VAPID public key browsers subscribe with (public)")
    async def vapid_public_key(self, request: Request[Any, Any, Any]) -> VapidKey:
        # Public on purpose: the service worker re-subscribes when the browser rotates a
        # subscription, possibly after the session expired; the key is public anyway.
        key = request.app.state.settings.vapid_public_key
        if not key:
            raise ProblemError(503, "Web Push is not configured on this server (run `fieldsales vapid`).")
        return VapidKey(public_key=key)

    @post(
        "/subscriptions",
        guards=[require_login],
        status_code=200,  # an upsert: posting the same subscription again is the same state
        summary="Save this device's push subscription for the caller",
    )
    async def subscribe(
        self, request: Request[Any, Any, Any], principal: Principal, services: Services, data: SubscriptionIn
    ) -> SubscriptionOut:
        settings = request.app.state.settings
        errors = subscription_errors(
            data.endpoint, data.keys.p256dh, data.keys.auth, settings.push_allow_insecure_localhost
        )
        if errors:
            fields = ", ".join(e["field"] for e in errors)
            raise ProblemError(422, f"Invalid push subscription: {fields}", errors)
        await services.get(PushSubscriptionsService).save(
            principal.id, data.endpoint, data.keys.p256dh, data.keys.auth, request.headers.get("user-agent")
        )
        return SubscriptionOut(endpoint=data.endpoint, active=True)

    @delete("/subscriptions", guards=[require_login], summary="Forget one of the caller's push subscriptions")
    async def unsubscribe(self, principal: Principal, services: Services, data: SubscriptionRef) -> None:
        if not await services.get(PushSubscriptionsService).remove(principal.id, data.endpoint):
            raise not_found("Push subscription", data.endpoint)


ROUTES = [PushApi]
