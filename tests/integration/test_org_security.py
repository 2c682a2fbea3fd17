"""Organizations' security settings enforced on their own credentials, on the real services:
ipWhitelist, requireHttps, allowedOrigins (per-organization CORS), suspension and deletion;
and the deployment's TRUSTED_PROXIES and FORCE_HTTPS.

A real API process (granian on 127.0.0.1) stands behind a pretend proxy: the test itself is
the trusted peer 127.0.0.1 and says who the client was with X-Forwarded-For/-Proto.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from infra import clickhouse
from infra.settings import Settings
from tests.conftest import Workers, free_port, ready, spawn, wait_until
from tests.integration.test_api_keys import issue, new_org

OFFICE = "203.0.113.0/24"


@pytest.fixture(scope="module")
def proxied(settings: Settings, workers: Workers, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[str]:
    """The API as a real process that trusts 127.0.0.1 as its proxy, with FORCE_HTTPS."""
    port = free_port()
    log = Path(tmp_path_factory.mktemp("proxied")) / "api.log"
    proc = spawn(settings, "api", log=log, PORT=str(port), API_WORKERS="1",
                 TRUSTED_PROXIES="127.0.0.1/32,10.0.0.0/8", FORCE_HTTPS="true")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: ready(url), timeout=60, message=f"api ready ({log})")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def via(url: str, key: str, client_ip: str | None, proto: str = "https", method: str = "GET",
        path: str = "/v1/organizations", **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
    if client_ip is not None:
        headers.update({"X-Forwarded-For": client_ip, "X-Forwarded-Proto": proto})
    return httpx.request(method, f"{url}{path}", headers=headers, timeout=10,
                         follow_redirects=False, **kw)


def org_with(client: TestClient[Any], **security: Any) -> dict[str, Any]:
    org = new_org(client)
    settings = {"ipWhitelist": security.pop("ip_whitelist", []), "security": security}
    updated = client.patch(f"/v1/organizations/{org['id']}", json={"settings": settings})
    assert updated.status_code == 200, updated.text
    client.get(f"/v1/organizations/{org['id']}", params={"min_position": updated.json()["position"]})
    return org


def test_an_ip_whitelist_admits_its_ranges_and_refuses_other_clients(
        client: TestClient[Any], proxied: str) -> None:
    org = org_with(client, ip_whitelist=[OFFICE])
    key = issue(client, org["id"])
    assert via(proxied, key, "203.0.113.7").status_code == 200
    refused = via(proxied, key, "198.51.100.9")
    assert refused.status_code == 403
    assert refused.json()["error"]["reason"] == "ip_not_allowed"
    assert "198.51.100.9" in refused.json()["error"]["message"]
    # A chain through another trusted proxy: the first untrusted hop from the right counts.
    assert via(proxied, key, "203.0.113.7, 10.1.2.3").status_code == 200
    assert via(proxied, key, "203.0.113.7, 198.51.100.9").status_code == 403


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(client: TestClient[Any]) -> None:
    """The in-process client's peer is not a trusted proxy: a spoofed X-Forwarded-For from a
    whitelisted address does not get it in."""
    org = org_with(client, ip_whitelist=[OFFICE])
    key = issue(client, org["id"])
    spoofed = client.get("/v1/organizations", headers={
        "Authorization": f"Bearer {key}", "X-Forwarded-For": "203.0.113.7"})
    assert spoofed.status_code == 403
    assert spoofed.json()["error"]["reason"] == "ip_not_allowed"


def test_require_https_admits_https_through_the_proxy_and_loopback(
        client: TestClient[Any], proxied: str) -> None:
    org = org_with(client, requireHttps=True)
    key = issue(client, org["id"])
    over_https = via(proxied, key, "198.51.100.9", proto="https")
    assert over_https.status_code == 200
    assert "strict-transport-security" in over_https.headers
    # A developer on the machine itself (loopback, no proxy) is a secure context.
    assert via(proxied, key, None).status_code == 200


def test_require_https_off_admits_plain_http(client: TestClient[Any]) -> None:
    relaxed = org_with(client, requireHttps=False)
    strict = org_with(client, requireHttps=True)
    plain = "http://testserver.local/v1/organizations"  # the in-process client's peer is remote
    ok = client.get(plain, headers={"Authorization": f"Bearer {issue(client, relaxed['id'])}"})
    refused = client.get(plain, headers={"Authorization": f"Bearer {issue(client, strict['id'])}"})
    assert ok.status_code == 200, ok.text
    assert refused.status_code == 403
    assert refused.json()["error"]["reason"] == "https_required"


def test_force_https_redirects_reads_and_refuses_writes(proxied: str) -> None:
    read = httpx.get(f"{proxied}/v1/organizations?limit=5", timeout=10, headers={
        "X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "http",
        "Host": "api.example.com"})
    assert read.status_code == 308
    assert read.headers["location"] == "https://api.example.com/v1/organizations?limit=5"
    write = httpx.post(f"{proxied}/v1/organizations", json={}, timeout=10, headers={
        "X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "http"})
    assert write.status_code == 403
    assert write.json()["error"]["reason"] == "https_required"
    # Health probes stay reachable over plain http.
    probe = httpx.get(f"{proxied}/health/live", timeout=10, headers={
        "X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "http"})
    assert probe.status_code == 200


def test_a_suspended_organization_s_keys_stop_working_until_it_is_reactivated(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    key = issue(client, org["id"])
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/organizations", headers=headers).status_code == 200
    assert client.post(f"/v1/organizations/{org['id']}/suspend", json={}).status_code == 200

    def reason() -> str | None:
        response = client.get("/v1/organizations", headers=headers)
        return response.json()["error"].get("reason") if response.status_code == 403 \
            else None

    wait_until(lambda: reason() == "organization_suspended", timeout=20,
               message="the suspension reaches the API's policy cache")
    assert client.post(f"/v1/organizations/{org['id']}/reactivate", json={}).status_code == 200
    wait_until(lambda: client.get("/v1/organizations", headers=headers).status_code == 200,
               timeout=20, message="the reactivation reaches the API's policy cache")
    assert client.delete(f"/v1/organizations/{org['id']}").status_code == 200
    wait_until(lambda: reason() == "organization_closed", timeout=20,
               message="the deletion reaches the API's policy cache")


def test_a_whitelist_change_applies_without_a_restart(client: TestClient[Any]) -> None:
    org = new_org(client)
    key = issue(client, org["id"])
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/v1/organizations", headers=headers).status_code == 200
    client.patch(f"/v1/organizations/{org['id']}", json={"settings": {"ipWhitelist": [OFFICE]}})
    wait_until(lambda: client.get("/v1/organizations", headers=headers).status_code == 403,
               timeout=20, message="the new whitelist reaches the API's policy cache")


def test_allowed_origins_are_per_organization(client: TestClient[Any]) -> None:
    origin = f"https://{free_port()}.portal.example"
    mine = org_with(client, allowedOrigins=[origin])
    theirs = new_org(client)
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "Authorization, Content-Type"}
    # The preflight carries no credentials: any live organization allowing the origin admits it.
    wait_until(lambda: client.options("/v1/organizations", headers=preflight).status_code == 204,
               timeout=20, message="the origin reaches the preflight set")
    evil = client.options("/v1/organizations", headers={**preflight, "Origin": "https://evil.example"})
    assert evil.status_code == 403
    # The actual response: CORS headers only for a caller whose own organization allows it.
    own = client.get("/v1/organizations", headers={
        "Authorization": f"Bearer {issue(client, mine['id'])}", "Origin": origin})
    assert own.headers.get("access-control-allow-origin") == origin
    other = client.get("/v1/organizations", headers={
        "Authorization": f"Bearer {issue(client, theirs['id'])}", "Origin": origin})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


def test_an_origin_taken_back_no_longer_admits_preflights(client: TestClient[Any]) -> None:
    origin = f"https://{free_port()}.withdrawn.example"
    org = org_with(client, allowedOrigins=[origin])
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    wait_until(lambda: client.options("/v1/organizations", headers=preflight).status_code == 204,
               timeout=20, message="the origin reaches the preflight set")
    client.patch(f"/v1/organizations/{org['id']}",
                 json={"settings": {"security": {"allowedOrigins": []}}})
    # Only this organization is read again: its origin leaves the set with it.
    wait_until(lambda: client.options("/v1/organizations", headers=preflight).status_code == 403,
               timeout=20, message="the withdrawn origin leaves the preflight set")


def test_a_denied_request_is_recorded_for_audit(client: TestClient[Any], settings: Settings) -> None:
    """403s (and another tenant's ids) leave an access.Denied event in the store, which the
    pipeline carries to ClickHouse like any other event."""
    org, other = new_org(client), new_org(client)
    reader = issue(client, org["id"], permissions=[{"resource": "organizations",
                                                    "actions": ["read"]}])
    headers = {"Authorization": f"Bearer {reader}", "User-Agent": "auditor-test/1"}
    denied = client.post("/v1/api-keys", headers=headers, json={"name": "x", "permissions": []})
    assert denied.status_code == 403
    probing = client.get(f"/v1/organizations/{other['id']}", headers=headers)
    assert probing.status_code == 404
    ch = clickhouse.client(settings)

    def recorded() -> list[tuple[Any, ...]]:
        return ch.query(
            "SELECT request_id, JSONExtractString(payload, 'reason'),"
            " JSONExtractString(payload, 'path'), JSONExtractString(payload, 'user_agent')"
            " FROM events FINAL WHERE event_type = 'access.Denied' AND organization_id = {o:UUID}"
            " ORDER BY position", parameters={"o": org["id"]}).result_rows

    wait_until(lambda: len(recorded()) == 2, timeout=30, message="two denials in ClickHouse")
    rows = recorded()
    assert [r[1] for r in rows] == ["permission_denied", "not_found"]
    assert rows[0][0] == denied.headers["x-request-id"]
    assert rows[1][2] == f"/v1/organizations/{other['id']}"
    assert rows[0][3] == "auditor-test/1"
    # The other organization's own audit trail is untouched by the probe.
    assert not ch.query("SELECT count() FROM events WHERE event_type = 'access.Denied'"
                        " AND organization_id = {o:UUID}",
                        parameters={"o": other["id"]}).result_rows[0][0]
