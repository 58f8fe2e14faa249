"""Pure pieces of Web Push delivery: headers, claims, classification, validation, outcomes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import uuid4

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.config import Settings
from server.routes.notifications.push import subscription_errors
from server.services.notifications import push_sender
from server.services.notifications.outbox import Claimed
from server.services.notifications.push import decide
from server.services.notifications.push_sender import (
    PushSender,
    SendResult,
    Target,
    classify_status,
    payload_for,
    topic_for,
    vapid_claims,
)
from server.services.notifications.vapid import generate_vapid_keys

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# A fixed browser key pair and auth secret: the parametrized ids below carry them, and every
# pytest-xdist worker must collect the same ids.
P256DH = b64(
    ec.derive_private_key(0x5EED_F1E1D_5A1E5, ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
)
AUTH = b64(bytes(range(16)))


def claimed(attempts: int = 1, **changes: Any) -> Claimed:
    values: dict[str, Any] = {
        "id": uuid4(),
        "user_id": uuid4(),
        "kind": "overdue_task",
        "title": "T",
        "body": "B",
        "url": "/x",
        "tag": "t",
        "attempts": attempts,
        "deliver_after": NOW,
        "read_at": None,
    }
    return Claimed(**(values | changes))


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("plan", "plan"),
        ("overdue_task", "overdue_task"),
        ("a" * 32, "a" * 32),
    ],
)
def test_short_url_safe_tags_are_their_own_topic(tag: str, expected: str) -> None:
    assert topic_for(tag) == expected


@pytest.mark.parametrize(
    "tag", ["a" * 33, "overdue-0f8fad5b-d9cb-469f-a165-70867728950e", "has space", "täg"]
)
def test_other_tags_hash_to_a_stable_32_char_topic(tag: str) -> None:
    topic = topic_for(tag)
    assert len(topic) == 32 and topic == topic_for(tag) and topic != topic_for(tag + "x")
    assert all(c.isalnum() or c in "-_" for c in topic)


def test_claims_are_a_fresh_dict_with_the_endpoint_origin() -> None:
    first = vapid_claims("mailto:a@b.example", "https://fcm.googleapis.com/fcm/send/abc", 1000.0)
    second = vapid_claims(
        "mailto:a@b.example", "https://updates.push.services.mozilla.com/wpush/v2/x", 1000.0
    )
    assert first is not second
    assert first == {
        "sub": "mailto:a@b.example",
        "aud": "https://fcm.googleapis.com",
        "exp": 1000 + 12 * 3600,
    }
    assert second["aud"] == "https://updates.push.services.mozilla.com"
    assert (
        vapid_claims("mailto:a@b.example", "http://127.0.0.1:8123/push/t", 0)["aud"]
        == "http://127.0.0.1:8123"
    )


@pytest.mark.parametrize(
    ("status", "retry_after", "kind", "after"),
    [
        (404, None, "gone", None),
        (410, None, "gone", None),
        (429, "120", "retry", 120),
        (429, "Wed, 21 Oct 2026 07:28:00 GMT", "retry", None),
        (500, None, "retry", None),
        (503, "30", "retry", 30),
        (400, None, "rejected", None),
        (403, None, "rejected", None),
        (413, None, "rejected", None),
    ],
)
def test_push_service_answers_classify(
    status: int, retry_after: str | None, kind: str, after: int | None
) -> None:
    result = classify_status(status, retry_after)
    assert (result.kind, result.retry_after_s) == (kind, after)


def test_payload_is_what_the_service_worker_reads_and_stays_small() -> None:
    notification = claimed(body="x" * 5000, url=None, tag=None)
    payload = payload_for(notification)
    assert '"url": "/inbox"' in payload and '"tag": "overdue_task"' in payload
    assert len(payload.encode()) < 3000


ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc"


@pytest.mark.parametrize(
    ("endpoint", "p256dh", "auth", "local", "fields"),
    [
        (ENDPOINT, P256DH, AUTH, False, []),
        ("https://web.push.apple.com/QGx", P256DH, AUTH, False, []),
        ("http://fcm.googleapis.com/x", P256DH, AUTH, False, ["endpoint"]),
        ("https://localhost/x", P256DH, AUTH, False, ["endpoint"]),
        ("https://127.0.0.1/x", P256DH, AUTH, False, ["endpoint"]),
        ("https://192.168.1.10/x", P256DH, AUTH, False, ["endpoint"]),
        ("https://[::1]/x", P256DH, AUTH, False, ["endpoint"]),
        ("https://169.254.169.254/latest", P256DH, AUTH, False, ["endpoint"]),
        ("https://host:notaport/x", P256DH, AUTH, False, ["endpoint"]),
        ("/relative", P256DH, AUTH, False, ["endpoint"]),
        ("http://127.0.0.1:9000/push/x", P256DH, AUTH, True, []),
        ("http://localhost:9000/push/x", P256DH, AUTH, True, []),
        ("http://10.0.0.1:9000/push/x", P256DH, AUTH, True, ["endpoint"]),
        (ENDPOINT, P256DH + "A", AUTH, False, ["keys.p256dh"]),
        (ENDPOINT, b64(b"\x04" * 65), AUTH, False, ["keys.p256dh"]),
        (ENDPOINT, P256DH, b64(bytes(range(17))), False, ["keys.auth"]),
        (ENDPOINT, P256DH, "", False, ["keys.auth"]),
    ],
)
def test_subscription_validation_names_each_bad_field(
    endpoint: str, p256dh: str, auth: str, local: bool, fields: list[str]
) -> None:
    assert [e["field"] for e in subscription_errors(endpoint, p256dh, auth, local)] == fields


OK, GONE = SendResult("ok", "accepted"), SendResult("gone", "HTTP 410")
RETRY, REJECTED = SendResult("retry", "HTTP 500"), SendResult("rejected", "HTTP 400")


@pytest.mark.parametrize(
    ("attempts", "results", "status", "next_in"),
    [
        (1, [], "skipped", None),
        (1, [OK], "sent", None),
        (1, [RETRY, OK, GONE], "sent", None),  # any device reached: sent
        (1, [RETRY], "pending", timedelta(minutes=1)),
        (2, [RETRY, GONE], "pending", timedelta(minutes=5)),
        (3, [RETRY], "pending", timedelta(minutes=30)),
        (4, [RETRY], "pending", timedelta(hours=2)),
        (5, [RETRY], "dead", None),
        (1, [GONE, GONE], "skipped", None),
        (1, [REJECTED, GONE], "failed", None),
        (1, [SendResult("retry", "HTTP 429", 900)], "pending", timedelta(minutes=15)),  # Retry-After wins
    ],
)
def test_outcome_of_one_notification(
    attempts: int, results: list[SendResult], status: str, next_in: timedelta | None
) -> None:
    outcome = decide(claimed(attempts), results, NOW)
    assert outcome.status == status
    assert outcome.next_attempt_at == (NOW + next_in if next_in else None)
    assert outcome.sent_at == (NOW if status == "sent" else None)


class _FakePusher:
    """Stands in for pywebpush's WebPusher: records what each send was given."""

    calls: ClassVar[list[dict[str, Any]]] = []
    status = 201

    def __init__(self, subscription: dict[str, Any], aiohttp_session: Any = None) -> None:
        self.subscription = subscription

    async def send_async(self, data: str, headers: dict[str, Any], **kwargs: Any) -> Any:
        type(self).calls.append(
            {"endpoint": self.subscription["endpoint"], "headers": dict(headers), **kwargs}
        )
        headers["Authorization"] = "changed by the callee"  # must not leak into the next message
        return type("Response", (), {"status": type(self).status})()


def _jwt_claims(authorization: str) -> dict[str, Any]:
    token = authorization.split(" ", 1)[1].split(",")[0].removeprefix("t=")
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_each_push_service_gets_its_own_vapid_jwt_reused_for_the_hour_and_an_explicit_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private, public = generate_vapid_keys()
    settings = Settings(
        VAPID_PRIVATE_KEY=private,
        VAPID_PUBLIC_KEY=public,
        PUSH_TIMEOUT_S=3.5,
        PUSH_ALLOWED_HOSTS="",
        _env_file=None,
    )  # type: ignore[call-arg]
    _FakePusher.calls = []
    monkeypatch.setattr(push_sender, "WebPusher", _FakePusher)
    wall = [1_800_000_000.0]
    monkeypatch.setattr(push_sender.time, "time", lambda: wall[0])
    async with aiohttp.ClientSession() as http:
        sender = PushSender(settings, http)
        for endpoint in ("https://a.example/x", "https://b.example/y", "https://a.example/z"):
            result = await sender.send(Target(uuid4(), endpoint, P256DH, AUTH), "{}", 60, "high", "t")
            assert result.kind == "ok"
        wall[0] += 3601  # past the renewal point: a fresh signature with a later exp
        await sender.send(Target(uuid4(), "https://a.example/x", P256DH, AUTH), "{}", 60, "high", None)
    calls = _FakePusher.calls
    claims = [_jwt_claims(call["headers"]["Authorization"]) for call in calls]
    assert [c["aud"] for c in claims] == ["https://a.example", "https://b.example"] + [
        "https://a.example"
    ] * 2
    assert calls[0]["headers"]["Authorization"] == calls[2]["headers"]["Authorization"]  # reused
    assert calls[3]["headers"]["Authorization"] != calls[0]["headers"]["Authorization"]  # renewed
    assert claims[0]["exp"] == 1_800_000_000 + 12 * 3600 and claims[3]["exp"] == claims[0]["exp"] + 3601
    assert [call["timeout"] for call in calls] == [3.5] * 4
    assert calls[0]["headers"]["Urgency"] == "high" and calls[0]["headers"]["Topic"] == "t"
    assert "Topic" not in calls[3]["headers"] and calls[0]["ttl"] == 60
    assert calls[0]["content_encoding"] == "aes128gcm"


async def test_a_refused_push_is_classified_from_its_status(monkeypatch: pytest.MonkeyPatch) -> None:
    private, public = generate_vapid_keys()
    settings = Settings(
        VAPID_PRIVATE_KEY=private, VAPID_PUBLIC_KEY=public, PUSH_ALLOWED_HOSTS="", _env_file=None
    )  # type: ignore[call-arg]
    monkeypatch.setattr(push_sender, "WebPusher", _FakePusher)
    monkeypatch.setattr(_FakePusher, "status", 410)
    async with aiohttp.ClientSession() as http:
        result = await PushSender(settings, http).send(
            Target(uuid4(), "https://a.example/x", P256DH, AUTH), "{}", 60, "high", None
        )
    assert result.kind == "gone"
