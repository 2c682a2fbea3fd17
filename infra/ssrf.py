"""The SSRF guard of webhook destinations: which hosts and addresses a delivery may reach.

Refused: every address that is not globally routable (loopback, private, link-local, CGNAT,
unspecified, reserved, documentation), multicast, and IPv6 forms that carry such an IPv4
address (IPv4-mapped, NAT64, 6to4, Teredo). A host written as a number in any form the C
resolver accepts (``2130706433``, ``0177.0.0.1``, ``0x7f.1``) is read as that address, never
looked up. A name is resolved and every address it resolves to must pass; the sender then
connects to the address that was checked (infra/webhook_http.py), so a second lookup cannot
change the answer, and it never follows redirects. WEBHOOK_ALLOWED_HOSTS names CIDRs and host
names that are permitted anyway (the tests' local receiver, an internal service).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from domain.errors import InvalidValue

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# getaddrinfo's answers: (family, type, proto, canonname, sockaddr)
Resolver = Callable[[str, int], Sequence[tuple[object, ...]]]


def _number(part: str) -> int | None:
    """One dotted part as inet_aton reads it: 0x hex, a leading 0 octal, else decimal."""
    try:
        if part[:2].lower() == "0x":
            return int(part[2:], 16) if len(part) > 2 else 0
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``host`` as an IPv4 address in any of inet_aton's spellings (a.b.c.d, a.b.c, a.b, a,
    each part decimal, octal or hex), or None when it is not a number."""
    parts = host.rstrip(".").split(".") if host else []
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def literal(host: str) -> IPAddress | None:
    """The address a URL's host names without a lookup, or None for a name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone id is not the address
    except ValueError:
        return numeric_ipv4(host)


def embedded(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo client)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return address.teredo[1] if address.teredo is not None else None


def public(address: IPAddress) -> bool:
    inner = embedded(address)
    if inner is not None and not public(inner):
        return False
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Target:
    """A destination that passed: connect to ``address``, say ``host`` (Host header, SNI)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Guard:
    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_hosts: frozenset[str] = frozenset()
    resolver: Resolver = field(default=lambda host, port: socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM))

    @classmethod
    def from_setting(cls, allowed: str) -> Guard:
        """WEBHOOK_ALLOWED_HOSTS: comma-separated CIDRs, addresses and host names."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in filter(None, (e.strip() for e in allowed.split(","))):
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def permits(self, address: IPAddress) -> bool:
        return public(address) or any(address in n for n in self.allowed_networks
                                      if n.version == address.version)

    def check(self, url: str) -> Target:
        """The destination to connect to, or InvalidValue ``webhook_url_forbidden`` (also when
        the name does not resolve)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        named = host.lower() in self.allowed_hosts
        found = literal(host)
        addresses = [found] if found is not None else self._resolve(host, port)
        if not addresses or not all(named or self.permits(a) for a in addresses):
            raise forbidden(host)
        return Target(parts.scheme, host, port, path, str(addresses[0]))

    def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            answers = self.resolver(host, port)
        except (OSError, UnicodeError):
            return []
        found: list[IPAddress] = []
        for answer in answers:
            sockaddr = answer[4]
            assert isinstance(sockaddr, tuple)
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
        return found


def forbidden(host: str) -> InvalidValue:
    shown = host[:100]
    return InvalidValue(f"url must reach a public address: {shown} is or resolves to a private,"
                        " loopback, link-local or reserved one", field="url",
                        code="webhook_url_forbidden", params={"host": shown})
