"""What one Web Push message says and what the push service's answer means: the pure half of
sending (no HTTP client here, so importing it does not load aiohttp or pywebpush; the server's
start and every CLI command stay quick). `push_sender.PushSender` does the sending.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit
from uuid import UUID

from server.services.notifications.outbox import Claimed

JWT_LIFETIME_S = 12 * 3600  # RFC 8292 allows up to 24 h
PAYLOAD_BODY_MAX = 1000  # the encrypted record must stay under 4 KB; the inbox keeps the full text
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # RFC 8030: at most 32 base64url characters

SendKind = Literal["ok", "gone", "retry", "rejected"]


@dataclass(frozen=True)
class Target:
    """One active push subscription."""

    id: UUID
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class SendResult:
    kind: SendKind  # ok | gone (404/410) | retry (5xx, 429, timeout, network) | rejected (other 4xx)
    detail: str
    retry_after_s: int | None = None


def topic_for(tag: str) -> str:
    """The Topic header: repeats with the same tag replace each other at the push service."""
    if _TOPIC.match(tag):
        return tag
    digest = hashlib.sha256(tag.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def audience(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def vapid_claims(subject: str, endpoint: str, now_s: float) -> dict[str, str | int]:
    """A fresh claims dict per message: pywebpush writes into the dict it is given."""
    return {"sub": subject, "aud": audience(endpoint), "exp": int(now_s) + JWT_LIFETIME_S}


def payload_for(notification: Claimed) -> str:
    """What the service worker reads (sw.js: title, body, tag, url)."""
    return json.dumps(
        {
            "id": str(notification.id),
            "title": notification.title,
            "body": notification.body[:PAYLOAD_BODY_MAX],
            "url": notification.url or "/inbox",
            "tag": notification.tag or notification.kind,
        },
        ensure_ascii=False,
    )


def _retry_after(value: str | None) -> int | None:
    # Only the delta-seconds form; an HTTP date falls back to our own backoff.
    return int(value) if value and value.isascii() and value.isdigit() else None


def classify_status(status: int, retry_after: str | None = None) -> SendResult:
    if status in (404, 410):
        return SendResult("gone", f"HTTP {status}")
    if status == 429 or status >= 500:
        return SendResult("retry", f"HTTP {status}", _retry_after(retry_after))
    return SendResult("rejected", f"HTTP {status}")


def failure_reason(result: SendResult) -> str:
    if result.kind != "retry":
        return result.kind
    return {"HTTP 429": "rate_limited", "timeout": "timeout"}.get(
        result.detail, "server" if result.detail.startswith("HTTP") else "network"
    )
