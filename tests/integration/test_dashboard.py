"""The /dashboard page over the app and a real API process: behind its sign-in (a user's
session or the operator token, in a signed cookie), a strict CSP, and a snapshot stream whose
first event comes within a tick and whose tenant snapshots hold their organization's numbers
only (request-log rows written straight into ClickHouse, two organizations apart)."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from infra import clickhouse
from infra.settings import Settings
from projections.api_requests import COLUMNS
from tests.conftest import ADMIN_TOKEN, Mailbox, Workers, free_port, ready, spawn, wait_until
from tests.integration.identity import PASSWORD, accept, invite
from tests.integration.test_api_keys import new_org

INTERVAL_S = 4.0  # long enough that a loaded machine computes a snapshot within it
NO_AUTH = {"Authorization": ""}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def api(settings: Settings, workers: Workers, tmp_path_factory: pytest.TempPathFactory,
        ) -> Iterator[str]:
    """`chronicle api` on the session's services (its own request log off: the rows the
    tests count are the ones they write)."""
    del workers
    log = tmp_path_factory.mktemp("dashboard") / "api.log"
    port = free_port()
    process = spawn(settings, "api", log=log, PORT=str(port), API_WORKERS="1",
                    REDIS_KEY_PREFIX=settings.redis_key_prefix, ENABLE_REQUEST_LOG="false",
                    DASHBOARD_INTERVAL=str(INTERVAL_S))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: ready(url), timeout=60, message=f"api ready ({_tail(log)})")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def sign_in(client: TestClient[Any], **form: str) -> httpx.Response:
    """The sign-in form, posted with the CSRF token its page gave."""
    client.cookies.clear()
    page = client.get("/dashboard/login", headers=NO_AUTH)
    found = CSRF.search(page.text)
    assert found, page.text
    return client.post("/dashboard/login", data={"csrf": found.group(1), **form},
                       headers=NO_AUTH, follow_redirects=False)


def cookie_of(response: httpx.Response) -> str:
    value = response.cookies.get("chronicle_dashboard")
    assert value, response.headers
    return value


def user_of(client: TestClient[Any], mailbox: Mailbox, org_id: str, role: str = "viewer") -> str:
    """A user of the organization (a viewer) who accepted the invitation; their email."""
    email, _ = invite(client, org_id, role=role)
    accepted = accept(client, mailbox.token_for(email))
    assert accepted.status_code == 200, accepted.text
    client.get(f"/v1/organizations/{org_id}", params={"min_position": accepted.json()["position"]})
    return email


def write_rows(settings: Settings, org: uuid.UUID, route: str, ok: int, failed: int) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [{"organization_id": org, "timestamp": now, "request_id": uuid.uuid4().hex,
             "trace_id": "", "method": "GET", "route": route, "status": 500 if i < failed else 200,
             "duration_ms": 10.0 + i, "actor_kind": "api_key", "api_key_id": "", "user_id": "",
             "client_id": "", "ip": "127.0.0.1", "user_agent": "probe", "bytes_in": 0,
             "bytes_out": 100, "rate_limited": False, "expires_at": now + timedelta(days=90)}
            for i in range(ok + failed)]
    ch = clickhouse.client(settings)
    try:
        ch.insert("api_requests", [[r[c] for c in COLUMNS] for r in rows], column_names=COLUMNS)
    finally:
        ch.close()


def snapshots(api: str, cookie: str, count: int) -> tuple[list[dict[str, Any]], list[str], float]:
    """The stream's first ``count`` snapshots, their raw data lines, and the seconds until the
    first one arrived."""
    started = time.monotonic()
    first, found, raw = 0.0, [], []
    with httpx.stream("GET", f"{api}/dashboard/stream", timeout=15,
                      headers={"Cookie": f"chronicle_dashboard={cookie}"}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                first = first or time.monotonic() - started
                raw.append(line)
                found.append(json.loads(line.removeprefix("data: ")))
                if len(found) == count:
                    break
    return found, raw, first


def test_the_page_redirects_to_the_sign_in_form_and_the_stream_refuses_without_a_sign_in(
        client: TestClient[Any]) -> None:
    page = client.get("/dashboard", headers=NO_AUTH, follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/dashboard/login")
    form = client.get("/dashboard/login", headers=NO_AUTH)
    assert form.status_code == 200
    assert form.headers["content-type"].startswith("text/html")
    assert CSRF.search(form.text)
    stream = client.get("/dashboard/stream", headers=NO_AUTH)
    assert stream.status_code == 401
    assert stream.json()["error"]["code"] == "unauthorized"
    client.cookies.set("chronicle_dashboard", "o.x.99999999999.forged")
    assert client.get("/dashboard/stream", headers=NO_AUTH).status_code == 401
    client.cookies.clear()
    # A bearer token is no way into the page: it is the cookie's.
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_the_pages_allow_only_their_own_bundled_assets(client: TestClient[Any]) -> None:
    assert sign_in(client, token=ADMIN_TOKEN).status_code == 303
    page = client.get("/dashboard", headers=NO_AUTH)  # the cookie is the client's now
    assert page.status_code == 200, page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script
    assert not re.search(r'(src|href)="(https?:)?//', page.text)  # nothing from elsewhere
    for asset in re.findall(r'(?:src|href)="(/dashboard/assets/[^"]+)"', page.text):
        assert client.get(asset, headers=NO_AUTH).status_code == 200, asset


def test_the_operator_signs_in_with_the_token_into_a_strict_cookie_and_out_again(
        client: TestClient[Any]) -> None:
    wrong = sign_in(client, token="not-the-token")
    assert wrong.status_code == 401
    assert "not valid" in wrong.text
    assert "chronicle_dashboard" not in wrong.cookies
    stale = client.post("/dashboard/login", data={"csrf": "guessed", "token": ADMIN_TOKEN},
                        headers=NO_AUTH, follow_redirects=False)
    assert stale.status_code == 403
    assert "chronicle_dashboard" not in stale.cookies
    signed = sign_in(client, token=ADMIN_TOKEN)
    assert (signed.status_code, signed.headers["location"]) == (303, "/dashboard")
    set_cookie = next(v for v in signed.headers.get_list("set-cookie")
                      if v.startswith("chronicle_dashboard="))
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/dashboard"):
        assert flag.lower() in set_cookie.lower(), set_cookie
    kept = cookie_of(signed)
    page = client.get("/dashboard", headers=NO_AUTH, follow_redirects=False)
    assert page.status_code == 200
    csrf = CSRF.search(page.text)
    assert csrf
    out = client.post("/dashboard/logout", data={"csrf": csrf.group(1)}, headers=NO_AUTH,
                      follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/dashboard/login")
    assert client.get("/dashboard", headers=NO_AUTH, follow_redirects=False).status_code == 303
    client.cookies.set("chronicle_dashboard", kept)  # a copy kept from before: revoked too
    assert client.get("/dashboard", headers=NO_AUTH, follow_redirects=False).status_code == 303
    client.cookies.clear()


def test_a_tenants_stream_holds_its_organizations_numbers_only_and_starts_within_a_tick(
        client: TestClient[Any], mailbox: Mailbox, settings: Settings, api: str) -> None:
    mine, other = new_org(client)["id"], new_org(client)["id"]
    write_rows(settings, uuid.UUID(mine), "/v1/mine-only", ok=5, failed=2)
    write_rows(settings, uuid.UUID(other), "/v1/other-only", ok=9, failed=4)
    # The operator's scope first (which also opens the process's connections, so that the
    # tenant's first event below measures its scope's first computation, not a cold start).
    operator = sign_in(client, token=ADMIN_TOKEN)
    [everyone], _, _ = snapshots(api, cookie_of(operator), 1)
    assert everyone["organizationId"] is None
    assert everyone["requests"]["total"] >= 20  # both organizations' (and the run's others)
    assert all(isinstance(stage["lag"], int) for stage in everyone["lag"])
    signed = sign_in(client, email=user_of(client, mailbox, mine), password=PASSWORD)
    assert signed.status_code == 303, signed.text
    [snapshot, second], raw, first_s = snapshots(api, cookie_of(signed), 2)
    assert first_s < INTERVAL_S, f"the first snapshot took {first_s:.2f} s"
    assert snapshot["organizationId"] == mine
    assert snapshot["requests"] == {"total": 7, "failed": 2, "perSecond": snapshot["requests"]["perSecond"]}
    assert [e["endpoint"] for e in snapshot["endpoints"]] == ["GET /v1/mine-only"]
    assert snapshot["errorsByEndpoint"][0] == {"endpoint": "GET /v1/mine-only", "requests": 7,
                                               "errors": 2, "errorRate": round(2 / 7, 4)}
    assert sum(p["requests"] for p in snapshot["series"]) == 7
    assert snapshot["usage"]["organizations"] == 1
    assert snapshot["usage"]["plan"] == "enterprise"
    assert all(stage["lag"] is None for stage in snapshot["lag"])  # platform-wide: not shown
    for line in raw:
        assert other not in line
        assert "other-only" not in line
    assert second["at"] > snapshot["at"]


def test_a_revoked_session_ends_its_dashboard_stream(
        client: TestClient[Any], mailbox: Mailbox, api: str) -> None:
    org = new_org(client)["id"]
    signed = sign_in(client, email=user_of(client, mailbox, org), password=PASSWORD)
    cookie = cookie_of(signed)
    [session] = client.get("/v1/sessions", params={"organization_id": org}).json()["data"]
    assert client.delete(f"/v1/sessions/{session['id']}").status_code == 200
    refused = httpx.get(f"{api}/dashboard/stream", headers={"Cookie": f"chronicle_dashboard={cookie}"},
                        timeout=15)
    assert refused.status_code == 401


def test_a_user_who_may_not_read_analytics_is_refused_on_the_form_and_gets_no_cookie(
        client: TestClient[Any], mailbox: Mailbox) -> None:
    org = new_org(client)["id"]
    role = client.post("/v1/roles", json={"name": "Logs only", "organizationId": org,
                                          "permissions": [{"resource": "logs", "actions": ["read"]}]})
    assert role.status_code == 201, role.text
    client.get(f"/v1/roles/{role.json()['id']}", params={"min_position": role.json()["position"]})
    email = user_of(client, mailbox, org, role=role.json()["id"])
    refused = sign_in(client, email=email, password=PASSWORD)
    assert refused.status_code == 403
    assert "may not read analytics" in refused.text
    assert "chronicle_dashboard" not in refused.cookies
    assert sign_in(client, email=email, password="not the password").status_code == 401
    client.cookies.clear()


def test_the_organizations_ip_whitelist_refuses_its_users_dashboard(
        client: TestClient[Any], mailbox: Mailbox) -> None:
    org = new_org(client)["id"]
    assert sign_in(client, email=user_of(client, mailbox, org), password=PASSWORD).status_code == 303
    assert client.get("/dashboard", headers=NO_AUTH, follow_redirects=False).status_code == 200
    client.patch(f"/v1/organizations/{org}", json={"settings": {"ipWhitelist": ["203.0.113.0/24"]}})

    def reason() -> str | None:  # the page, not the stream: an admitted stream never ends
        answer = client.get("/dashboard", headers=NO_AUTH, follow_redirects=False)
        return answer.json()["error"]["reason"] if answer.status_code == 403 else None

    wait_until(lambda: reason() == "ip_not_allowed", timeout=20,
               message="the whitelist reaches the API's policy cache")
    client.cookies.clear()
