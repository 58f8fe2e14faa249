"""Sending one Web Push message: the VAPID header, encryption (pywebpush), the POST (aiohttp)
through a resolver that connects to public addresses only. What a message says and what an answer
means is in `push_message` (pure, and cheap to import: this module is imported only to send).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog
from aiohttp.abc import AbstractResolver, ResolveResult
from py_vapid import Vapid
from pywebpush import WebPusher, WebPushException

from server.config import Settings
from server.core import metrics
from server.services.notifications import endpoints
from server.services.notifications.endpoints import (
    NonPublicAddress,
    allowed_hosts,
    endpoint_problem,
    is_public,
    literal_address,
)
from server.services.notifications.push_message import (
    JWT_LIFETIME_S,
    SendResult,
    Target,
    audience,
    classify_status,
    failure_reason,
    topic_for,
    vapid_claims,
)

log = structlog.get_logger("fieldsales.push")

# A signed VAPID header is reused for every message to the same push service until less than this
# is left of its lifetime (RFC 8292 lets a JWT be reused until it expires): one ECDSA signature per
# push service per hour instead of one per message.
JWT_RENEW_S = 11 * 3600


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's resolver for push requests: connects only to public addresses."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        addresses = await endpoints.resolver(host, port)  # looked up per call: tests replace it
        results: list[ResolveResult] = []
        for text in addresses:
            address = literal_address(text.split("%")[0])
            if address is None or not is_public(address):
                raise NonPublicAddress(f"push host {host} resolves to a non-public address")
            results.append(
                {
                    "hostname": host,
                    "host": str(address),
                    "port": port,
                    "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            )
        if not results:
            raise OSError(f"push host {host} does not resolve")
        return results

    async def close(self) -> None:
        return None


def connector_kwargs(allow_insecure_localhost: bool) -> dict[str, Any]:
    """The TCPConnector's resolver: public-only, except for the test-only local push service."""
    return {} if allow_insecure_localhost else {"resolver": PublicOnlyResolver()}


class PushSender:
    """Sends through one HTTP connection pool, at most `push_concurrency` requests at a time."""

    def __init__(self, settings: Settings, http: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.http = http
        self.vapid = Vapid.from_string(private_key=settings.vapid_private_key)  # parsed once
        self._slots = asyncio.Semaphore(max(1, settings.push_concurrency))
        # Explicit on every request, whatever session it goes through.
        self._timeout = aiohttp.ClientTimeout(total=settings.push_timeout_s)
        self._allowed = allowed_hosts(settings.push_allowed_hosts)
        self._endpoints: dict[str, tuple[str | None, str]] = {}  # see _endpoint()
        self._signed: dict[str, tuple[float, dict[str, str]]] = {}  # audience -> (signed at, headers)

    def vapid_headers(self, endpoint: str, now_s: float) -> dict[str, str]:
        """Authorization (and Crypto-Key) for `endpoint`'s push service, signed once per hour.
        exp is checked by the push service against real time, so `now_s` is the wall clock, not
        the domain clock (which a job run with --at may have set in the past)."""
        aud = self._endpoint(endpoint)[1]
        cached = self._signed.get(aud)
        if cached is None or now_s - cached[0] > JWT_LIFETIME_S - JWT_RENEW_S:
            headers = self.vapid.sign(vapid_claims(self.settings.vapid_subject, endpoint, now_s))
            cached = (now_s, dict(headers))
            self._signed[aud] = cached
        return dict(cached[1])  # a copy: the caller adds its own headers

    def _endpoint(self, endpoint: str) -> tuple[str | None, str]:
        """(why the endpoint is refused, or None; its push service's origin), worked out once
        per sender (one dispatcher run), not once per message."""
        known = self._endpoints.get(endpoint)
        if known is None:
            problem = endpoint_problem(endpoint, self.settings.push_allow_insecure_localhost, self._allowed)
            known = self._endpoints[endpoint] = (problem, "" if problem else audience(endpoint))
        return known

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[PushSender]:
        connector = aiohttp.TCPConnector(
            limit=max(1, settings.push_concurrency),
            **connector_kwargs(settings.push_allow_insecure_localhost),
        )
        timeout = aiohttp.ClientTimeout(total=settings.push_timeout_s)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            yield cls(settings, http)

    async def send(
        self, target: Target, payload: str, ttl_s: int, urgency: str, tag: str | None
    ) -> SendResult:
        """Encrypt and POST one message; never raises, the result says what to do next."""
        refused = self._endpoint(target.endpoint)[0]
        if refused:  # registered before the rules tightened, or the allow-list changed since
            return SendResult("rejected", f"endpoint {refused}")
        headers = self.vapid_headers(target.endpoint, time.time())
        headers.update({"TTL": str(ttl_s), "Urgency": urgency, "Content-Encoding": "aes128gcm"})
        if tag:
            headers["Topic"] = topic_for(tag)
        subscription = {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
        try:
            # pywebpush encrypts (RFC 8291, aes128gcm); we post the record ourselves. Its
            # webpush_async() would sign a fresh JWT per message, and its send_async() re-wraps
            # the headers and decodes the answer's text: a tenth of the dispatcher's CPU.
            # Encrypting before taking a slot keeps the slots for requests on the wire.
            body = WebPusher(subscription).encode(payload.encode(), "aes128gcm")["body"]
            async with (
                self._slots,
                self.http.post(
                    target.endpoint, data=body, headers=headers, timeout=self._timeout
                ) as response,
            ):
                await response.read()  # an unread answer would cost the pooled connection
            if response.status <= 202:
                return SendResult("ok", "accepted")
            result = classify_status(response.status, response.headers.get("Retry-After"))
        except WebPushException as exc:  # keys pywebpush cannot use
            result = SendResult("rejected", exc.message)
        except TimeoutError:
            result = SendResult("retry", "timeout")
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, NonPublicAddress):  # DNS changed since registration
                result = SendResult("rejected", "endpoint resolves to a non-public address")
            else:
                result = SendResult("retry", f"network: {type(exc).__name__}")
        except aiohttp.ClientError as exc:
            result = SendResult("retry", f"network: {type(exc).__name__}")
        except Exception as exc:  # one bad subscription must not sink the whole batch
            log.exception("push_send_error", subscription_id=str(target.id))
            result = SendResult("rejected", f"error: {type(exc).__name__}")
        reason = failure_reason(result)
        metrics.PUSH_FAILURES.labels(reason=reason).inc()
        log.info(
            "push_failed",
            subscription_id=str(target.id),
            host=urlsplit(target.endpoint).hostname,
            reason=reason,
            detail=result.detail,
        )
        return result
