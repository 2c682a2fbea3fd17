"""The HTTP platform in-process: localized errors, security headers, CORS, limits, API versions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.platform import i18n
from api.platform.versioning import KNOWN, LATEST
from infra.settings import Settings
from tests.conftest import Workers
from tests.integration.conftest import AUTH
from tests.integration.error_requests import ELSEWHERE, REQUESTS, Clients, raise_for_test, request

APP_ORIGIN = "https://app.example.com"
ORGS = "/v1/organizations"
SECURITY = {"content-security-policy": "default-src 'none'; frame-ancestors 'none'",
            "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
            "x-frame-options": "DENY"}


@contextmanager
def client_for(settings: Settings, **overrides: Any) -> Iterator[TestClient[Any]]:
    base_url = "https://testserver.local" if overrides.pop("https", False) else "http://testserver.local"
    app = create_app(msgspec.structs.replace(settings, **overrides))
    app.register(raise_for_test)
    with TestClient(app=app, base_url=base_url, raise_server_exceptions=False) as c:
        c.headers.update(AUTH)
        yield c


@pytest.fixture(scope="module")
def clients(settings: Settings, workers: Workers) -> Iterator[Clients]:
    with client_for(settings, cors_origins=f"{APP_ORIGIN},https://admin.example.com",
                    env="test") as main, \
            client_for(settings, read_wait_timeout_ms=50) as impatient, \
            client_for(settings, redis_url="redis://127.0.0.1:1/0",
                       rate_limit_failure_mode="closed") as closed:
        yield Clients(main, impatient, closed, settings)


@pytest.fixture(scope="module")
def client(clients: Clients) -> TestClient[Any]:
    return clients.main


def create(client: TestClient[Any], **headers: str) -> Any:
    return client.post(ORGS, json={"name": "Acme", "slug": f"p-{uuid.uuid4().hex[:12]}"},
                       headers=headers)


@pytest.mark.parametrize("reason", sorted(REQUESTS))
def test_every_reachable_error_has_its_status_codes_and_a_japanese_message(
        clients: Clients, reason: str) -> None:
    entry = i18n.CATALOG[reason]
    response = request(clients, reason, "ja")
    error = response.json()["error"]
    assert (error["reason"], error["code"]) == (reason, entry.code or reason), response.text
    assert response.status_code == (entry.status or 418)
    assert response.headers["content-language"] == "ja"
    assert any("\u3040" <= ch <= "\u9fff" for ch in error["message"]), error["message"]
    assert "{" not in error["message"], "every placeholder got its parameter"
    assert error["requestId"] == response.headers["x-request-id"]


def test_every_catalog_reason_is_either_requested_above_or_tested_elsewhere() -> None:
    assert set(REQUESTS) | set(ELSEWHERE) == set(i18n.CATALOG)
    assert not set(REQUESTS) & set(ELSEWHERE)


@pytest.mark.parametrize(("accept", "language"), [
    (None, "en"), ("ja", "ja"), ("ja-JP", "ja"), ("fr-CA", "en"), ("de, ja;q=0.5", "ja"),
    ("en;q=0.3, ja;q=0.9", "ja"), ("ja;q=0.2, en", "en"), ("ja;q=0", "en"),
])
def test_the_error_language_follows_accept_language(client: TestClient[Any], accept: str | None,
                                                     language: str) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get(f"{ORGS}/{uuid.uuid4()}/history", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-language"] == language
    assert response.json()["error"]["message"] == i18n.render("organization_not_found", language)


def test_a_domain_error_is_localized_with_its_parameters_in_the_field_details_too(
        client: TestClient[Any]) -> None:
    body = {"name": "x", "slug": "x", "settings": {"ipWhitelist": ["10.0.0.0/8", "nope"]}}
    ja = client.post(ORGS, json=body, headers={"Accept-Language": "ja"}).json()["error"]
    assert ja["message"] == "'nope' は IP アドレスまたは CIDR 範囲ではありません"
    assert ja["details"] == [{"field": "settings.ipWhitelist[1]", "message": ja["message"],
                              "code": "ip_whitelist_invalid"}]
    en = client.post(ORGS, json=body).json()["error"]
    assert en["message"] == "'nope' is not an IP address or CIDR range"
    assert (en["code"], en["reason"]) == ("invalid_value", "ip_whitelist_invalid")


def test_a_success_has_no_content_language(client: TestClient[Any]) -> None:
    assert "content-language" not in create(client, **{"Accept-Language": "ja"}).headers


def test_a_500_never_shows_a_stack_outside_development(client: TestClient[Any],
                                                       settings: Settings) -> None:
    error = client.get("/test/raise/internal_error").json()["error"]
    assert "stack" not in error
    assert "boom" not in error["message"]
    with client_for(settings, env="development") as dev:
        shown = dev.get("/test/raise/internal_error").json()["error"]
        assert "RuntimeError: boom" in shown["stack"]
        assert "stack" not in dev.get("/test/raise/invalid_state").json()["error"]


@pytest.mark.parametrize(("method", "path", "status", "headers"), [
    ("GET", f"{ORGS}?limit=1", 200, {}),
    ("GET", "/v1/nowhere", 404, {}),
    ("GET", "/no/such/route", 404, {}),
    ("GET", ORGS, 401, {"Authorization": ""}),
    ("POST", ORGS, 422, {}),
    ("GET", "/health/live", 200, {}),
    ("GET", "/health/live", 431, {"X-Padding": "p" * 20_000}),
])
def test_every_response_carries_the_security_headers(
        client: TestClient[Any], method: str, path: str, status: int,
        headers: dict[str, str]) -> None:
    response = client.request(method, path, headers=headers, json={"name": 1})
    assert response.status_code == status, response.text
    assert {k: response.headers.get(k) for k in SECURITY} == SECURITY
    assert "strict-transport-security" not in response.headers, "plain http: no HSTS"
    assert (response.headers.get("cache-control") == "no-store") == path.startswith("/v1")
    assert response.headers["chronicle-version"] == LATEST


def test_the_docs_may_load_their_own_scripts_and_styles(client: TestClient[Any]) -> None:
    csp = client.get("/docs").headers["content-security-policy"]
    for directive in ("script-src 'self'", "style-src 'self' 'unsafe-inline'",
                      "img-src 'self' data:", "connect-src 'self'", "frame-ancestors 'none'"):
        assert directive in csp


@pytest.mark.parametrize("overrides", [{"https": True}, {"behind_tls_proxy": True}])
def test_hsts_is_sent_over_https_or_behind_a_tls_proxy(settings: Settings,
                                                       overrides: dict[str, Any]) -> None:
    with client_for(settings, **overrides) as c:
        hsts = c.get("/health/live").headers["strict-transport-security"]
    assert hsts == "max-age=63072000; includeSubDomains"


def preflight(client: TestClient[Any], origin: str, method: str = "POST",
              headers: str = "Authorization, Content-Type, Idempotency-Key") -> Any:
    return client.options(ORGS, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers, "Authorization": ""})


def test_a_preflight_from_an_allowed_origin_is_answered_without_credentials(
        client: TestClient[Any]) -> None:
    response = preflight(client, APP_ORIGIN)
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"]
    for name in ("Authorization", "Content-Type", "Idempotency-Key", "If-Match",
                 "Chronicle-Version", "X-Request-Id"):
        assert name in allowed
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(("origin", "method", "headers", "refused"), [
    ("https://evil.example", "POST", "Content-Type", ["origin"]),
    (APP_ORIGIN, "TRACE", "Content-Type", ["method"]),
    (APP_ORIGIN, "POST", "X-Secret-Thing", ["headers"]),
])
def test_a_preflight_outside_the_policy_is_refused(client: TestClient[Any], origin: str,
                                                   method: str, headers: str,
                                                   refused: list[str]) -> None:
    response = preflight(client, origin, method, headers)
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert response.json()["error"]["details"] == {"refused": refused}


def test_without_cors_origins_every_preflight_is_refused(clients: Clients) -> None:
    assert preflight(clients.impatient, APP_ORIGIN).status_code == 403


def test_an_allowed_origin_may_read_the_response_and_its_headers(client: TestClient[Any]) -> None:
    response = create(client, Origin=APP_ORIGIN)
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = response.headers["access-control-expose-headers"]
    for name in ("X-Request-Id", "ETag", "Location", "Idempotent-Replayed", "RateLimit-Limit",
                 "RateLimit-Remaining", "RateLimit-Reset"):
        assert name in exposed
    assert "Origin" in response.headers["vary"]
    other = client.get(f"{ORGS}?limit=1", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


def test_headers_just_under_the_limit_pass(client: TestClient[Any], settings: Settings) -> None:
    used = sum(len(k) + len(v) for k, v in client.build_request("GET", "/health/live").headers.raw)
    padding = settings.max_header_bytes - used - len("x-padding")
    assert client.get("/health/live", headers={"X-Padding": "p" * padding}).status_code == 200
    too_big = client.get("/health/live", headers={"X-Padding": "p" * (padding + 1)})
    assert too_big.status_code == 431


def nested(depth: int) -> str:
    inner = '{"a":' * (depth - 1) + "1" + "}" * (depth - 1)
    return '{"name":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[","slug":"x","settings":' + inner + "}"


@pytest.mark.parametrize(("depth", "code"), [(32, "validation_failed"), (33, "json_too_deep")])
def test_json_deeper_than_the_limit_is_refused_before_decoding(
        client: TestClient[Any], depth: int, code: str) -> None:
    response = client.post(ORGS, content=nested(depth), headers={"Content-Type": "application/json"})
    assert response.json()["error"]["code"] == code, response.text


def read_in(client: TestClient[Any], path: str, version: str | None, via: str = "header") -> Any:
    if version is None:
        return client.get(path)
    if via == "header":
        return client.get(path, headers={"Chronicle-Version": version})
    return client.get(f"{path}{'&' if '?' in path else '?'}chronicle_version={version}")


@pytest.mark.parametrize("via", ["header", "query"])
def test_an_older_version_gets_organizations_with_snake_case_timestamps(
        client: TestClient[Any], via: str) -> None:
    created = create(client).json()
    path = f"{ORGS}/{created['id']}?min_position={created['position']}"
    old = read_in(client, path, "2026-06-01", via)
    assert old.headers["chronicle-version"] == "2026-06-01"
    assert {"created_at", "updated_at", "deleted_at"} <= set(old.json())
    assert "createdAt" not in old.json()
    new = read_in(client, path, None)
    assert new.headers["chronicle-version"] == LATEST
    assert {"createdAt", "updatedAt"} <= set(new.json())
    assert old.json()["created_at"] == new.json()["createdAt"]
    page = read_in(client, f"{ORGS}?limit=2", "2026-06-01", via).json()
    assert all("created_at" in org for org in page["data"])
    assert "hasNext" in page["pagination"], "only organizations changed"


def test_writes_and_errors_keep_their_shape_in_an_older_version(client: TestClient[Any]) -> None:
    written = create(client, **{"Chronicle-Version": "2026-06-01"})
    assert set(written.json()) == {"id", "version", "position"}
    assert written.headers["chronicle-version"] == "2026-06-01"
    missing = client.get(f"{ORGS}/{uuid.uuid4()}", headers={"Chronicle-Version": "2026-06-01"})
    assert set(missing.json()["error"]) >= {"code", "requestId", "timestamp"}


def test_the_header_and_the_query_must_agree_and_versions_must_be_known(
        client: TestClient[Any]) -> None:
    agreed = client.get(f"/health/live?chronicle_version={KNOWN[0]}",
                        headers={"Chronicle-Version": KNOWN[0]})
    assert agreed.headers["chronicle-version"] == KNOWN[0]
    unknown = client.get("/health/live", headers={"Chronicle-Version": "2020-01-01"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"] == {"known": list(KNOWN)}
    assert unknown.headers["chronicle-version"] == LATEST
