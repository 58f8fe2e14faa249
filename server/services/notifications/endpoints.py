"""Where the server may send Web Push: https push services on public addresses, nowhere else.

A push endpoint is a URL the *client* chose and the *server* POSTs to, so an unchecked one is a
server-side request forgery. Checked when it is registered and again on every send:
- https, no credentials, a host on the allow-list of push services when one is configured
  (default: the push services of Chrome/Edge/Android, Firefox, Safari and Windows);
- no numeric host in any form but canonical dotted quad or bracketed IPv6 (`0x7f000001`,
  `2130706433`, `0177.0.0.1`, `127.1` all mean 127.0.0.1 to the C resolver);
- every address the host resolves to is public: not loopback, private, link-local, multicast,
  reserved or unspecified, also when wrapped (IPv4-mapped, 6to4, Teredo, NAT64).
The sender resolves through `push_sender.PublicOnlyResolver`, the same check on the addresses it
actually connects to, so a DNS answer that changed since registration (rebinding) is refused too.
`resolver` is the one seam to DNS (tests replace it; no test touches the network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_TEST_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_INET_ATON = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


resolver: Callable[[str, int], Awaitable[list[str]]] = _system_resolve


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, whatever IPv4 address an IPv6 one wraps."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None and not is_public(inner):
            return False
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_unspecified
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_private
    )


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def host_problem(host: str) -> str | None:
    """Why a host name or literal is unacceptable without asking DNS, or None."""
    address = literal_address(host)
    if address is not None:
        return None if is_public(address) else "must be a public push service address"
    # inet_aton's forms (decimal, octal, hex parts; 1 to 4 of them), and any host whose last
    # label is a number, which URL parsers treat as an IPv4 address.
    if _INET_ATON.match(host) or _INET_ATON.match(host.rstrip(".").rsplit(".", 1)[-1]):
        return "must be a push service host name or a canonical IP address"
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "must be a push service host"
    return None


def allowed_host(host: str, allowed: tuple[str, ...]) -> bool:
    return not allowed or any(host == suffix or host.endswith("." + suffix) for suffix in allowed)


def allowed_hosts(setting: str) -> tuple[str, ...]:
    return tuple(part.strip().lower().strip(".") for part in setting.split(",") if part.strip())


def endpoint_problem(
    endpoint: str, allow_insecure_localhost: bool = False, allowed: tuple[str, ...] = ()
) -> str | None:
    """Why an endpoint is unacceptable before any DNS lookup, or None."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return "must be an absolute https URL"
    if not host:
        return "must be an absolute https URL"
    if allow_insecure_localhost and host in LOCAL_TEST_HOSTS and parts.scheme in ("http", "https"):
        return None
    if parts.scheme != "https":
        return "must be an https URL"
    if parts.username or parts.password:
        return "must not contain credentials"
    problem = host_problem(host)
    if problem:
        return problem
    if not allowed_host(host, allowed):
        return "must be a known push service (Chrome, Firefox, Safari, Edge)"
    return None


async def resolution_problem(endpoint: str, allow_insecure_localhost: bool = False) -> str | None:
    """Every address the endpoint's host resolves to must be public (None when so)."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if allow_insecure_localhost and host in LOCAL_TEST_HOSTS:
        return None
    if literal_address(host) is not None:
        return host_problem(host)
    try:
        addresses = await resolver(host, parts.port or 443)
    except (OSError, UnicodeError):
        return "must be a host that resolves"
    if not addresses:
        return "must be a host that resolves"
    for text in addresses:
        address = literal_address(text.split("%")[0])
        if address is None or not is_public(address):
            return "must resolve to public addresses only"
    return None


class NonPublicAddress(OSError):
    """The push host resolved to an address the server must not connect to."""
