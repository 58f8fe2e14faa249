"""Push endpoints and SSRF: the tricky addresses, DNS answers at the resolver seam, send-time checks.

No test touches the network: `endpoints.resolver` is replaced, and the "internal service" the
attacker aims at is a local socket that must never see a connection.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import aiohttp
import pytest

from server.config import Settings
from server.services.notifications import endpoints, push_sender
from server.services.notifications.endpoints import endpoint_problem, resolution_problem
from server.services.notifications.push_message import Target
from server.services.notifications.push_sender import PushSender
from server.services.notifications.vapid import generate_vapid_keys

P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
AUTH = "tBHItJI5svbpez7KI4CCXg"
ALLOWED = endpoints.allowed_hosts(Settings(_env_file=None).push_allowed_hosts)  # type: ignore[call-arg]

TRICKY = [
    "https://0x7f000001:8113/push",  # hex
    "https://2130706433/push",  # one decimal number
    "https://0177.0.0.1/push",  # octal
    "https://127.1/push",  # short form
    "https://0x7f.0.0.1/push",
    "https://127.0.0.1/push",
    "https://[::1]/push",
    "https://[::ffff:127.0.0.1]/push",  # IPv4-mapped
    "https://[::ffff:7f00:1]/push",
    "https://[2002:7f00:1::1]/push",  # 6to4 around 127.0.0.1
    "https://[64:ff9b::a00:1]/push",  # NAT64 around 10.0.0.1
    "https://10.0.0.5/push",
    "https://172.16.0.1/push",
    "https://192.168.1.1/push",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata
    "https://[fe80::1]/push",  # link-local
    "https://100.64.0.1/push",  # carrier-grade NAT
    "https://224.0.0.1/push",  # multicast
    "https://[ff02::1]/push",
    "https://0.0.0.0/push",
    "https://localhost/push",
    "https://push.localhost/push",
    "https://1.2.3.4.5/push",
    "http://fcm.googleapis.com/fcm/send/x",  # not https
    "https://user:pw@fcm.googleapis.com/fcm/send/x",
    "https://evil.example.com/fcm/send/x",  # not a push service (allow-list on)
    "https://fcm.googleapis.com.evil.example/x",
]


@pytest.mark.parametrize("endpoint", TRICKY)
def test_tricky_endpoints_are_refused_before_any_lookup(endpoint: str) -> None:
    assert endpoint_problem(endpoint, False, ALLOWED) is not None
    # Also with the allow-list switched off: the address rules stand on their own.
    if "evil.example" not in endpoint:
        assert endpoint_problem(endpoint, False, ()) is not None


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
        "https://web.push.apple.com/QGk",
        "https://wns2-by3p.notify.windows.com/w/?token=x",
    ],
)
def test_the_major_push_services_are_accepted(endpoint: str) -> None:
    assert endpoint_problem(endpoint, False, ALLOWED) is None


def stub_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        if host not in answers:
            raise OSError("NXDOMAIN")
        return answers[host]

    monkeypatch.setattr(endpoints, "resolver", resolve)
    return asked


@pytest.mark.parametrize(
    ("addresses", "refused"),
    [
        (["142.250.185.10"], False),
        (["2a00:1450:4001:80b::200a"], False),
        (["127.0.0.1"], True),
        (["142.250.185.10", "10.0.0.7"], True),  # one private answer is enough to refuse
        (["::ffff:169.254.169.254"], True),
        (["fd00::1"], True),
        ([], True),
    ],
)
async def test_a_host_must_resolve_to_public_addresses_only(
    monkeypatch: pytest.MonkeyPatch, addresses: list[str], refused: bool
) -> None:
    stub_dns(monkeypatch, {"fcm.googleapis.com": addresses})
    problem = await resolution_problem("https://fcm.googleapis.com/fcm/send/x")
    assert (problem is not None) is refused


async def test_an_unresolvable_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    stub_dns(monkeypatch, {})
    assert await resolution_problem("https://fcm.googleapis.com/fcm/send/x") == "must be a host that resolves"


async def test_the_sender_refuses_a_host_that_now_resolves_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: registered while public, resolving to 127.0.0.1 at send time. The sender's
    own resolver refuses it, so the local service never sees a connection."""
    connections: list[Any] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer.get_extra_info("peername"))
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stub_dns(monkeypatch, {"fcm.googleapis.com": ["127.0.0.1"]})
    private, public = generate_vapid_keys()
    settings = Settings(VAPID_PRIVATE_KEY=private, VAPID_PUBLIC_KEY=public, PUSH_TIMEOUT_S=3, _env_file=None)  # type: ignore[call-arg]
    try:
        async with PushSender.open(settings) as sender:
            target = Target(uuid4(), f"https://fcm.googleapis.com:{port}/fcm/send/x", P256DH, AUTH)
            result = await sender.send(target, "{}", 60, "normal", None)
    finally:
        server.close()
        await server.wait_closed()
    assert result.kind == "rejected" and "non-public" in result.detail
    assert connections == []


async def test_the_sender_refuses_a_stored_literal_private_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """A row stored before these rules (or by hand) is still never contacted."""
    called: list[Any] = []

    class FakePusher:
        def __init__(self, subscription: dict[str, Any], aiohttp_session: Any = None) -> None:
            called.append(subscription)

    monkeypatch.setattr(push_sender, "WebPusher", FakePusher)
    private, public = generate_vapid_keys()
    settings = Settings(VAPID_PRIVATE_KEY=private, VAPID_PUBLIC_KEY=public, _env_file=None)  # type: ignore[call-arg]
    async with aiohttp.ClientSession() as http:
        sender = PushSender(settings, http)
        for endpoint in ("https://0x7f000001:8113/x", "https://[::ffff:10.0.0.1]/x"):
            result = await sender.send(Target(uuid4(), endpoint, P256DH, AUTH), "{}", 60, "high", None)
            assert result.kind == "rejected"
    assert called == []
