"""A local Web Push service on 127.0.0.1 for tests and the benchmark (never the internet).

It records every request and answers 201 unless told otherwise per subscription: any status
(404, 410, 429, 500, ...) or "slow" (hold the request until the service stops). Subscriptions
carry a real P-256 key pair and auth secret, so a test can decrypt exactly what was sent and
verify the VAPID JWT against the server's public key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import http_ece
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt as vapid_jwt
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.db.models import PushSubscription
from server.services.notifications.vapid import generate_vapid_keys

Answer = int | Literal["slow"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class FakeSubscription:
    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def json(self) -> dict[str, Any]:
        """What the browser's PushSubscription.toJSON() gives."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass
class Received:
    token: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    answer: Answer


@dataclass
class FakePushService:
    record: bool = True
    received: list[Received] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    subscriptions: dict[str, FakeSubscription] = field(default_factory=dict)
    count: int = 0
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set by every request
    base_url: str = ""

    async def __aenter__(self) -> FakePushService:
        app = web.Application()
        app.router.add_post("/push/{token}", self._push)
        app.router.add_get("/count", self._count)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()  # let "slow" requests finish so shutdown is immediate
        if self._runner is not None:
            await self._runner.cleanup()

    def subscription(self, answer: Answer = 201) -> FakeSubscription:
        token = secrets.token_hex(8)
        sub = FakeSubscription(
            token, f"{self.base_url}/push/{token}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        )
        self.subscriptions[token] = sub
        self.answers[token] = answer
        return sub

    def answer(self, sub: FakeSubscription, answer: Answer) -> None:
        self.answers[sub.token] = answer

    def to(self, sub: FakeSubscription) -> list[Received]:
        return [r for r in self.received if r.token == sub.token]

    def decrypt(self, received: Received) -> dict[str, Any]:
        sub = self.subscriptions[received.token]
        plain = http_ece.decrypt(
            received.body, private_key=sub.private_key, auth_secret=sub.auth_secret, version="aes128gcm"
        )
        return json.loads(plain)  # type: ignore[no-any-return]

    @staticmethod
    def vapid(received: Received, public_key: str) -> dict[str, Any]:
        """The JWT claims, after checking the signature against `public_key` (raises if bad)."""
        scheme, _, params = received.headers["authorization"].partition(" ")
        assert scheme.lower() == "vapid", scheme
        parts = dict(item.split("=", 1) for item in params.split(","))
        assert parts["k"] == public_key, "the k= key must be the server's VAPID public key"
        return vapid_jwt.decode(parts["t"], public_key)  # type: ignore[no-any-return]

    async def _count(self, _: web.Request) -> web.Response:
        return web.json_response({"count": self.count})

    async def _push(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        body = await request.read()
        answer = self.answers.get(token, 201)
        self.count += 1
        self.arrived.set()
        if self.record:
            self.received.append(
                Received(token, {k.lower(): v for k, v in request.headers.items()}, body, answer)
            )
        if answer == "slow":
            await self._release.wait()  # the client has long given up by then
            return web.Response(status=201)
        return web.Response(status=answer)


VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY = generate_vapid_keys()


def push_settings(settings: Settings, **overrides: Any) -> Settings:
    """Test settings that can push to this fake service: VAPID keys, local endpoints allowed."""
    values = {
        "vapid_private_key": VAPID_PRIVATE_KEY,
        "vapid_public_key": VAPID_PUBLIC_KEY,
        "push_allow_insecure_localhost": True,
        "push_timeout_s": 10.0,  # generous: a loaded test machine must not turn pushes into timeouts
        **overrides,
    }
    return settings.model_copy(update=values)


async def add_subscription(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: UUID, sub: FakeSubscription, at: datetime
) -> UUID:
    """Store a subscription directly (the API route is tested on its own)."""
    row = PushSubscription(
        endpoint=sub.endpoint, p256dh=sub.p256dh, auth=sub.auth, user_id=user_id, created_at=at, failures=0
    )
    async with sessionmaker() as session:
        session.add(row)
        await session.commit()
    return row.id


async def _serve_forever() -> None:
    """`python -m tests.fakepush`: answer 201 to every push, print the base URL, run until killed."""
    async with FakePushService(record=False) as service:
        print(f"READY {service.base_url}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve_forever())
