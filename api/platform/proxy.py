"""Who really called, and over which scheme, when a reverse proxy fronts the API.

X-Forwarded-For and X-Forwarded-Proto are believed only when the direct peer is one of
TRUSTED_PROXIES (anyone can send those headers). The client is the rightmost address in
X-Forwarded-For that is not itself a trusted proxy; its scheme is the X-Forwarded-Proto entry
at the same hop (or the only one given).

"Secure" follows the W3C Secure Contexts rule: https, or a loopback client (a developer's own
machine), which is what requireHttps and FORCE_HTTPS ask for.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import NamedTuple

from litestar.types import Scope

from infra.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Origin(NamedTuple):
    client: str
    scheme: str


@lru_cache(maxsize=4096)  # parsing an address costs ~2 us; a server sees few, again and again
def _ip(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: IPAddress | None, proxies: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address in net for net in proxies)


def _header(scope: Scope, name: bytes) -> list[str]:
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def resolve(scope: Scope, proxies: tuple[IPNetwork, ...]) -> Origin | None:
    """The forwarded client and scheme, or None when the peer is not a trusted proxy."""
    peer = scope.get("client")
    if not proxies or not peer or not _trusted(_ip(peer[0]), proxies):
        return None
    hops = _header(scope, b"x-forwarded-for")
    protos = [p.lower() for p in _header(scope, b"x-forwarded-proto")]
    client, index = peer[0], len(hops)
    for index in range(len(hops) - 1, -1, -1):
        address = _ip(hops[index])
        if address is None:  # garbage: stop believing the chain here
            break
        client = str(address)
        if not _trusted(address, proxies):
            break
    scheme = scope.get("scheme", "http")
    if protos:
        scheme = protos[index] if len(protos) == len(hops) and index < len(hops) else protos[0]
    return Origin(client, scheme if scheme in ("http", "https") else "http")


def apply(scope: Scope, proxies: tuple[IPNetwork, ...]) -> None:
    """Rewrite the scope's client and scheme from a trusted proxy's headers, in place."""
    found = resolve(scope, proxies)
    if found is not None:
        scope.setdefault("state", {})["proxy_peer"] = scope.get("client")
        scope["client"] = (found.client, 0)
        scope["scheme"] = found.scheme


def client_ip(scope: Scope) -> IPAddress | None:
    peer = scope.get("client")
    return _ip(peer[0]) if peer else None


def is_secure(scope: Scope) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    address = client_ip(scope)
    return address is not None and address.is_loopback
