"""Who called, through which proxies: X-Forwarded-* believed only from TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from api.platform import proxy
from infra.settings import SettingsError, load_settings

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


def scope(peer: str, forwarded_for: str | None = None, proto: str | None = None,
          scheme: str = "http") -> dict[str, Any]:
    headers = []
    if forwarded_for is not None:
        headers.append((b"x-forwarded-for", forwarded_for.encode()))
    if proto is not None:
        headers.append((b"x-forwarded-proto", proto.encode()))
    return {"type": "http", "client": (peer, 4000), "scheme": scheme, "headers": headers}


def test_an_untrusted_peer_s_headers_are_ignored() -> None:
    assert proxy.resolve(scope("198.51.100.1", "203.0.113.5", "https"), TRUSTED) is None
    assert proxy.resolve(scope("10.0.0.1", "203.0.113.5", "https"), ()) is None


def test_the_client_is_the_rightmost_untrusted_hop() -> None:
    found = proxy.resolve(scope("10.0.0.1", "6.6.6.6, 203.0.113.5, 10.2.3.4", "https"), TRUSTED)
    assert found == proxy.Origin("203.0.113.5", "https")


def test_the_scheme_is_taken_at_the_client_s_hop_or_the_only_one_given() -> None:
    aligned = scope("10.0.0.1", "203.0.113.5, 10.2.3.4", "http, https")
    assert proxy.resolve(aligned, TRUSTED) == proxy.Origin("203.0.113.5", "http")
    single = scope("10.0.0.1", "203.0.113.5, 10.2.3.4", "https")
    assert proxy.resolve(single, TRUSTED) == proxy.Origin("203.0.113.5", "https")
    odd = scope("10.0.0.1", "203.0.113.5", "gopher")
    assert proxy.resolve(odd, TRUSTED) == proxy.Origin("203.0.113.5", "http")


def test_garbage_stops_the_chain_and_ports_are_dropped() -> None:
    assert proxy.resolve(scope("10.0.0.1", "not-an-ip, 10.2.3.4"), TRUSTED) == proxy.Origin(
        "10.2.3.4", "http")
    assert proxy.resolve(scope("10.0.0.1", "203.0.113.5:5123"), TRUSTED) == proxy.Origin(
        "203.0.113.5", "http")
    assert proxy.resolve(scope("10.0.0.1", "[2001:db8::1]:443"), TRUSTED) == proxy.Origin(
        "2001:db8::1", "http")


def test_apply_rewrites_client_and_scheme_and_remembers_the_peer() -> None:
    s = scope("127.0.0.1", "203.0.113.5", "https")
    proxy.apply(s, TRUSTED)
    assert s["client"] == ("203.0.113.5", 0)
    assert s["scheme"] == "https"
    assert s["state"]["proxy_peer"] == ("127.0.0.1", 4000)


def test_https_or_loopback_is_a_secure_context() -> None:
    assert proxy.is_secure(scope("203.0.113.5", scheme="https"))
    assert proxy.is_secure(scope("127.0.0.1"))
    assert proxy.is_secure(scope("::1"))
    assert not proxy.is_secure(scope("203.0.113.5"))
    assert not proxy.is_secure(scope("testclient"))


def test_trusted_proxies_must_be_addresses_or_ranges() -> None:
    assert load_settings({"TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}).trusted_proxy_networks == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        load_settings({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})
