"""Pure pieces of Web Push delivery: headers, claims, classification, validation, outcomes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.config import ROOT, Settings
from server.routes.notifications.push import subscription_errors
from server.services.notifications import push_sender
from server.services.notifications.outbox import Claimed
from server.services.notifications.push import BatchResults, PushMessage, decide, fold_answers
from server.services.notifications.push_message import (
    SendResult,
    Target,
    classify_status,
    payload_for,
    topic_for,
    vapid_claims,
)
from server.services.notifications.push_sender import PushSender
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


class _FakeResponse:
    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status, self.headers = status, headers

    async def __aenter__(self) -> _FakeResponse:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def read(self) -> bytes:
        return b""


class _FakeHttp:
    """Stands in for the sender's aiohttp session: records each POST, answers `status`."""

    def __init__(self, status: int = 201, headers: dict[str, str] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status, self.headers = status, headers or {}

    def post(self, url: str, *, data: bytes, headers: dict[str, str], timeout: Any) -> _FakeResponse:
        self.calls.append({"endpoint": url, "body": data, "headers": dict(headers), "timeout": timeout})
        headers["Authorization"] = "changed by the callee"  # must not leak into the next message
        return _FakeResponse(self.status, self.headers)


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
    http = _FakeHttp()
    wall = [1_800_000_000.0]
    monkeypatch.setattr(push_sender.time, "time", lambda: wall[0])
    sender = PushSender(settings, http)  # type: ignore[arg-type]
    for endpoint in ("https://a.example/x", "https://b.example/y", "https://a.example/z"):
        result = await sender.send(Target(uuid4(), endpoint, P256DH, AUTH), "{}", 60, "high", "t")
        assert result.kind == "ok"
    wall[0] += 3601  # past the renewal point: a fresh signature with a later exp
    await sender.send(Target(uuid4(), "https://a.example/x", P256DH, AUTH), "{}", 60, "high", None)
    calls = http.calls
    claims = [_jwt_claims(call["headers"]["Authorization"]) for call in calls]
    assert [c["aud"] for c in claims] == ["https://a.example", "https://b.example"] + [
        "https://a.example"
    ] * 2
    assert calls[0]["headers"]["Authorization"] == calls[2]["headers"]["Authorization"]  # reused
    assert calls[3]["headers"]["Authorization"] != calls[0]["headers"]["Authorization"]  # renewed
    assert claims[0]["exp"] == 1_800_000_000 + 12 * 3600 and claims[3]["exp"] == claims[0]["exp"] + 3601
    assert [call["timeout"].total for call in calls] == [3.5] * 4
    assert calls[0]["headers"]["Urgency"] == "high" and calls[0]["headers"]["Topic"] == "t"
    assert "Topic" not in calls[3]["headers"] and calls[0]["headers"]["TTL"] == "60"
    assert calls[0]["headers"]["Content-Encoding"] == "aes128gcm"
    # An aes128gcm record (RFC 8188): 16-byte salt, record size 4096, a 65-byte key id (the
    # sender's ephemeral public key), then the ciphertext of the payload, padding and tag.
    body = calls[0]["body"]
    assert int.from_bytes(body[16:20], "big") == 4096 and body[20] == 65 and len(body) > 86 + 16


@pytest.mark.parametrize(
    ("status", "headers", "kind", "retry_after_s"),
    [(410, {}, "gone", None), (404, {}, "gone", None), (429, {"Retry-After": "120"}, "retry", 120)],
)
async def test_a_refused_push_is_classified_from_its_answer(
    status: int, headers: dict[str, str], kind: str, retry_after_s: int | None
) -> None:
    private, public = generate_vapid_keys()
    settings = Settings(
        VAPID_PRIVATE_KEY=private, VAPID_PUBLIC_KEY=public, PUSH_ALLOWED_HOSTS="", _env_file=None
    )  # type: ignore[call-arg]
    http = _FakeHttp(status, headers)
    result = await PushSender(settings, http).send(  # type: ignore[arg-type]
        Target(uuid4(), "https://a.example/x", P256DH, AUTH), "{}", 60, "high", None
    )
    assert (result.kind, result.retry_after_s) == (kind, retry_after_s)


def test_a_notification_cut_off_by_the_batch_deadline_gets_no_outcome() -> None:
    """Only a notification whose every push was answered is recorded (with its subscriptions);
    one cut off keeps its lease and is due again when the lease ends."""
    done, cut = claimed(), claimed()
    phone, laptop, tablet = (Target(uuid4(), f"https://a.example/{n}", P256DH, AUTH) for n in "pqr")
    messages = [
        PushMessage(done.id, phone, "{}", 60, "high", None),
        PushMessage(done.id, laptop, "{}", 60, "high", None),
        PushMessage(cut.id, tablet, "{}", 60, "high", None),
        PushMessage(cut.id, phone, "{}", 60, "high", None),
    ]
    answers = [
        SendResult("ok", "accepted"),
        SendResult("gone", "HTTP 410"),
        SendResult("ok", "accepted"),
        None,
    ]
    out = BatchResults()
    fold_answers([done, cut], messages, answers, NOW, out)
    assert [(o.id, o.status, o.sent_at) for o in out.outcomes] == [(done.id, "sent", NOW)]
    assert (out.ok, out.gone, out.failed, out.delivered) == ({phone.id}, {laptop.id}, set(), 1)


def test_the_app_starts_without_the_push_client() -> None:
    """aiohttp and pywebpush load only in a process that sends: importing the app (every server
    start) stays ~0.2 s quicker. A fresh process, since this one has them loaded."""
    code = "import sys, server.app; print(sorted({'aiohttp', 'pywebpush', 'py_vapid'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
