"""Cheap request limits and the CORS policy, without a server: JSON depth, header bytes, origins."""

from __future__ import annotations

import time
from typing import Any

import pytest

from api.platform.cors import Cors, is_preflight
from api.platform.security import header_bytes, json_too_deep
from infra.settings import SettingsError, load_settings


def nest(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(("body", "deep"), [
    (b"", False),
    (b'{"name":"x"}', False),
    (nest(32), False),
    (nest(33), True),
    (b"[" * 33 + b"]" * 33, True),
    (b'[{"a":[' + b"[" * 29 + b"]" * 29 + b"]}]", False),
    (b'{"s":"' + b"[" * 100 + b'"}', False),  # brackets inside a string do not nest
    (b'{"s":"\\"' + b"[" * 100 + b'"}', False),  # nor after an escaped quote
    (b'{"s":"\\\\"' + b",\"t\":" + b"[" * 40 + b"]" * 40 + b"}", True),  # an escaped backslash
    (b"[" * 40 + b'"unterminated', True),
])
def test_json_depth_is_measured_on_the_raw_bytes(body: bytes, deep: bool) -> None:
    assert json_too_deep(body, 32) is deep


def test_json_depth_takes_linear_time_on_hostile_strings() -> None:
    hostile = b"[" * 40 + b'"' + b'\\"' * 400_000  # a string that never ends, full of escapes
    started = time.perf_counter()
    json_too_deep(hostile, 32)
    json_too_deep(b"[" * 40 + b'"a' * 400_000, 32)
    assert time.perf_counter() - started < 1.0


def test_header_bytes_count_names_and_values() -> None:
    assert header_bytes({"headers": [(b"host", b"example"), (b"x-a", b"12345")]}) == 19


def test_cors_allows_listed_origins_only_and_the_wildcard_allows_all() -> None:
    scope: Any = {"headers": []}
    listed = Cors(frozenset({"https://app.example.com"}))
    assert listed.allows("https://APP.example.com", scope)
    assert not listed.allows("https://app.example.com.evil.example", scope)
    assert not Cors().allows("https://app.example.com", scope)
    assert not Cors().enabled
    assert Cors(frozenset({"*"})).allows("https://anything.example", scope)
    per_org = Cors(checks=(lambda origin, _scope: origin == "https://tenant.example",))
    assert per_org.allows("https://tenant.example", scope)


def test_a_preflight_is_an_options_request_with_origin_and_a_requested_method() -> None:
    def scope(method: str, *names: bytes) -> Any:
        return {"method": method, "headers": [(n, b"x") for n in names]}

    assert is_preflight(scope("OPTIONS", b"origin", b"access-control-request-method"))
    assert not is_preflight(scope("OPTIONS", b"origin"))
    assert not is_preflight(scope("GET", b"origin", b"access-control-request-method"))


def test_cors_origins_are_read_from_the_environment_and_checked() -> None:
    settings = load_settings({"CORS_ORIGINS": "https://app.example.com, http://localhost:3000"})
    assert settings.cors_origin_list == ("https://app.example.com", "http://localhost:3000")
    assert load_settings({}).cors_origin_list == ()
    for bad in ("app.example.com", "https://app.example.com/", "ftp://x.example"):
        with pytest.raises(SettingsError, match="CORS_ORIGINS"):
            load_settings({"CORS_ORIGINS": bad})
    with pytest.raises(SettingsError, match="MAX_JSON_DEPTH"):
        load_settings({"MAX_JSON_DEPTH": "0"})
