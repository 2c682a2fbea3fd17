"""The SSRF guard: every private-address spelling is refused, names are judged by every
address they resolve to, and the allow-list lets the named ranges through."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from domain.errors import InvalidValue
from infra.ssrf import Guard, numeric_ipv4


def resolving(*addresses: str) -> Guard:
    def resolver(host: str, port: int) -> list[tuple[object, ...]]:
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in addresses]
    return Guard(resolver=resolver)


def unresolvable(host: str, port: int) -> list[tuple[object, ...]]:
    raise socket.gaierror("no such name")


REFUSED = [
    "http://127.0.0.1/", "http://127.1/", "http://2130706433/", "http://0177.0.0.1/",
    "http://0x7f.0.0.1/", "http://0x7f000001/", "http://017700000001/", "http://0/",
    "http://0.0.0.0/", "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/", "http://224.0.0.1/",
    "http://255.255.255.255/", "http://198.18.0.1/", "http://[::1]/", "http://[::]/",
    "http://[fe80::1%25eth0]/", "http://[fc00::1]/", "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/", "https://127.0.0.1:8443/x", "http://127.0.0.1./",
]


@pytest.mark.parametrize("url", REFUSED)
def test_every_private_address_spelling_is_refused(url: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Guard(resolver=unresolvable).check(url)
    assert refused.value.code == "webhook_url_forbidden"


@pytest.mark.parametrize(("host", "address"), [
    ("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"),
    ("10.1", "10.0.0.1"), ("192.168.257", "192.168.1.1"), ("8.8.8.8", "8.8.8.8")])
def test_numeric_hosts_are_read_as_the_c_resolver_reads_them(host: str, address: str) -> None:
    assert numeric_ipv4(host) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "256.1.1.1", "08.1.1.1", "1.2.3.x",
                                  ""])
def test_names_and_impossible_numbers_are_not_addresses(host: str) -> None:
    assert numeric_ipv4(host) is None


def test_a_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(InvalidValue):
        resolving("127.0.0.1").check("https://localtest.me/hook")


def test_a_name_is_refused_when_any_of_its_addresses_is_private() -> None:
    with pytest.raises(InvalidValue):
        resolving("93.184.216.34", "10.0.0.5").check("https://mixed.example/hook")


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(InvalidValue):
        Guard(resolver=unresolvable).check("https://nowhere.invalid/")


def test_a_public_name_passes_and_names_the_address_to_connect_to() -> None:
    target = resolving("93.184.216.34").check("https://example.com:8443/in?x=1")
    assert (target.host, target.port, target.path, target.address) == (
        "example.com", 8443, "/in?x=1", "93.184.216.34")


def test_public_literals_pass() -> None:
    guard = Guard(resolver=unresolvable)
    assert guard.check("http://8.8.8.8/").address == "8.8.8.8"
    assert guard.check("http://[2606:4700::1111]/").address == "2606:4700::1111"


def test_the_allow_list_permits_its_ranges_and_names_only() -> None:
    guard = Guard.from_setting("127.0.0.0/8, receiver.internal")
    assert guard.check("http://127.0.0.1:9000/").address == "127.0.0.1"
    with pytest.raises(InvalidValue):
        guard.check("http://10.0.0.1/")
    named = Guard(guard.allowed_networks, guard.allowed_hosts,
                  resolver=resolving("10.0.0.9").resolver)
    assert named.check("http://receiver.internal/").address == "10.0.0.9"
