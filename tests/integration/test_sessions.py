"""Sessions on the real Redis: tokens issued for an authenticated user, refresh rotation with
reuse detection revoking the family, logout, listing and revoking, and revocation reaching a
second API process. The user store is not under test here: sessions start from an Identity
(the shape of commands/users.py's Authenticated) built by the test."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from litestar.testing import TestClient

from api.app import create_app
from domain.permissions import ApiPermission
from infra.sessions import DeviceInfo, Identity, Tokens
from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN, wait_until
from tests.integration.conftest import HTTPS
from tests.integration.test_api_keys import new_org
from tests.integration.test_tokens import container_of

READ = (ApiPermission(resource="organizations", actions=("read",)),)
ADMIN = (ApiPermission(resource="*", actions=("create", "read", "update", "delete")),)


def start_session(client: TestClient[Any], org_id: str, *, user_id: uuid.UUID | None = None,
                  permissions: tuple[ApiPermission, ...] = READ) -> Tokens:
    who = Identity(user_id or uuid.uuid4(), uuid.UUID(org_id), "ada@example.com", "member",
                   permissions)
    start = functools.partial(
        container_of(client).sessions.start, who, now=datetime.now(UTC),
        device=DeviceInfo(type="web", browser="firefox", fingerprint="fp"),
        ip_address="203.0.113.7", user_agent="pytest",
        session_timeout_s=None)
    return client.blocking_portal.call(start)  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refresh(client: TestClient[Any], token: str) -> Any:
    return client.post("/v1/auth/refresh", json={"refreshToken": token}, headers={
        "Authorization": ""})


def test_a_session_token_reads_and_lists_its_own_session(client: TestClient[Any]) -> None:
    org = new_org(client)
    tokens = start_session(client, org["id"])
    assert client.get(f"/v1/organizations/{org['id']}",
                      headers=bearer(tokens.access_token)).status_code == 200
    listed = client.get("/v1/sessions", headers=bearer(tokens.access_token))
    assert listed.status_code == 200, listed.text
    [mine] = listed.json()["data"]
    assert (mine["id"], mine["current"], mine["isActive"]) == (tokens.session.id, True, True)
    assert mine["deviceInfo"]["type"] == "web"
    assert mine["ipAddress"] == "203.0.113.7"
    assert "refresh" not in str(mine).lower()


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_whole_family(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    first = start_session(client, org["id"])
    second = refresh(client, first.refresh_token)
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["tokenType"] == "Bearer"
    assert body["sessionId"] == first.session.id
    assert body["refreshToken"] != first.refresh_token
    assert 0 < body["expiresIn"] <= 900
    third = refresh(client, body["refreshToken"])
    assert third.status_code == 200, third.text
    # The first token again: someone holds a copy. The whole session ends.
    reused = refresh(client, first.refresh_token)
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    latest = refresh(client, third.json()["refreshToken"])
    assert latest.status_code == 401
    assert latest.json()["error"]["code"] == "refresh_token_invalid"
    for access in (first.access_token, body["accessToken"], third.json()["accessToken"]):
        refused = client.get(f"/v1/organizations/{org['id']}", headers=bearer(access))
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "token_revoked"


@pytest.mark.parametrize("token", ["", "rt_nope", "rt_" + "0" * 32 + "_" + "a" * 43, "x" * 256])
def test_a_refresh_token_that_was_never_issued_is_refused(client: TestClient[Any],
                                                          token: str) -> None:
    response = refresh(client, token)
    assert response.status_code in (401, 422), response.text
    if response.status_code == 401:
        assert response.json()["error"]["code"] == "refresh_token_invalid"


def test_logout_ends_the_session_and_its_tokens(client: TestClient[Any]) -> None:
    org = new_org(client)
    tokens = start_session(client, org["id"])
    out = client.post("/v1/auth/logout", headers=bearer(tokens.access_token))
    assert out.status_code == 200, out.text
    assert out.json()["isActive"] is False
    again = client.get(f"/v1/organizations/{org['id']}", headers=bearer(tokens.access_token))
    assert again.json()["error"]["code"] == "token_revoked"
    assert refresh(client, tokens.refresh_token).json()["error"]["code"] == "refresh_token_invalid"
    assert client.post("/v1/auth/logout").json()["error"]["reason"] == "session_required"


def test_sessions_are_revoked_by_their_user_or_an_admin_and_hidden_from_other_tenants(
        client: TestClient[Any]) -> None:
    org, other = new_org(client), new_org(client)
    user = uuid.uuid4()
    laptop, phone = (start_session(client, org["id"], user_id=user) for _ in range(2))
    colleague = start_session(client, org["id"])
    admin = start_session(client, org["id"], permissions=ADMIN)
    outsider = start_session(client, other["id"], permissions=ADMIN)
    path = f"/v1/sessions/{phone.session.id}"
    assert client.delete(path, headers=bearer(outsider.access_token)).status_code == 404
    denied = client.delete(path, headers=bearer(colleague.access_token))
    assert denied.status_code == 403
    assert client.get("/v1/sessions", params={"user_id": str(user)},
                      headers=bearer(colleague.access_token)).status_code == 403
    seen = client.get("/v1/sessions", params={"user_id": str(user)},
                      headers=bearer(admin.access_token)).json()["data"]
    assert {s["id"] for s in seen} == {laptop.session.id, phone.session.id}
    assert client.get("/v1/sessions", params={"organization_id": org["id"]},
                      headers=bearer(outsider.access_token)).status_code == 404
    assert client.delete(path, headers=bearer(laptop.access_token)).status_code == 200
    assert client.delete(path, headers=bearer(laptop.access_token)).status_code == 404
    assert client.get("/v1/sessions", headers=bearer(phone.access_token)).status_code == 401
    mine = client.get("/v1/sessions", headers=bearer(laptop.access_token)).json()["data"]
    assert [s["id"] for s in mine] == [laptop.session.id]
    by_operator = client.get("/v1/sessions", params={"organization_id": org["id"]}).json()
    assert {s["id"] for s in by_operator["data"]} == {
        laptop.session.id, colleague.session.id, admin.session.id}


def test_the_organizations_session_timeout_caps_the_session(client: TestClient[Any],
                                                            settings: Settings) -> None:
    created = client.post("/v1/organizations", json={
        "name": "Short", "slug": f"short-{uuid.uuid4().hex[:8]}",
        "settings": {"security": {"sessionTimeout": 5}}}).json()
    client.get(f"/v1/organizations/{created['id']}", params={"min_position": created["position"]})
    tokens = start_session(client, created["id"])
    fresh = refresh(client, tokens.refresh_token).json()
    [session] = client.get("/v1/sessions", headers=bearer(fresh["accessToken"])).json()["data"]
    lifetime = (datetime.fromisoformat(session["expiresAt"])
                - datetime.fromisoformat(session["lastAccessedAt"]))
    assert lifetime.total_seconds() == 300
    with redis.Redis.from_url(settings.redis_url) as r:
        ttl = r.ttl(f"{settings.redis_key_prefix}session:{tokens.session.id}")
    assert 0 < ttl <= 300


@pytest.fixture
def second_process(settings: Settings) -> Iterator[TestClient[Any]]:
    """Another API process on the same services (its own in-memory deny set)."""
    with TestClient(app=create_app(settings), base_url=HTTPS,
                    raise_server_exceptions=False) as other:
        other.headers.update({"Authorization": f"Bearer {ADMIN_TOKEN}"})
        yield other


def test_a_revoked_session_is_refused_by_another_api_process_at_once(
        client: TestClient[Any], second_process: TestClient[Any]) -> None:
    org = new_org(client)
    tokens = start_session(client, org["id"])
    path = f"/v1/organizations/{org['id']}"
    assert second_process.get(path, headers=bearer(tokens.access_token)).status_code == 200
    assert client.post("/v1/auth/logout", headers=bearer(tokens.access_token)).status_code == 200
    # Well within the deny set's periodic reload (CREDENTIAL_CACHE_TTL_S, 10 s): pub/sub did it.
    wait_until(lambda: second_process.get(path, headers=bearer(tokens.access_token)
                                          ).status_code == 401, timeout=5,
               message="the second process to learn of the revocation")
    refused = second_process.get(path, headers=bearer(tokens.access_token)).json()
    assert refused["error"]["code"] == "token_revoked"


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"content": "refreshToken=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
     0),
    ({"content": "{", "headers": {"Content-Type": "application/json"}}, 400),
    ({"json": {"refreshToken": "x", "extra": 1}}, 422),
    ({"json": {"refreshToken": "x"}, "headers": {"X-Pad": "p" * 20_000}}, 431),
])
def test_bad_refresh_requests_get_4xx_and_write_nothing(
        client: TestClient[Any], settings: Settings, kwargs: dict[str, Any], status: int) -> None:
    with redis.Redis.from_url(settings.redis_url) as r:
        before = len(r.keys(f"{settings.redis_key_prefix}session:*"))
        response = client.post("/v1/auth/refresh", **kwargs)
        assert response.status_code == status or (
            status == 0 and 400 <= response.status_code < 500), response.text
        assert len(r.keys(f"{settings.redis_key_prefix}session:*")) == before


@pytest.mark.parametrize("header", ["Bearer a.b", "Bearer ..", "Bearer " + "a." * 3000 + "a",
                                    "Bearer e30.e30.e30", "Basic dXNlcjpwYXNz"])
def test_malformed_authorization_gets_401_never_500(client: TestClient[Any], header: str) -> None:
    response = client.get("/v1/sessions", headers={"Authorization": header})
    assert response.status_code == 401, response.text


class StubUsers:
    """Stands in for commands/users.py's store (not under test here): one known password."""

    def __init__(self, who: Identity) -> None:
        self.who, self.logins = who, []

    def authenticate(self, email: str, password: str, totp_code: str | None,
                     now: datetime) -> Identity:
        assert (email, password, totp_code) == (self.who.email, "s3cret", "123456")
        return self.who

    def record_login(self, ctx: Any, user_id: uuid.UUID) -> None:
        self.logins.append((ctx.actor.id, user_id))


def test_login_starts_a_session_from_what_the_user_store_authenticated(
        settings: Settings, client: TestClient[Any]) -> None:
    from api.auth.login import login

    org = new_org(client)
    who = Identity(uuid.uuid4(), uuid.UUID(org["id"]), "ada@example.com", "admin", ADMIN)
    app = create_app(settings)
    if not any(getattr(r, "path", "") == "/v1/auth/login" for r in app.routes):
        app.register(login)
    with TestClient(app=app, base_url=HTTPS, raise_server_exceptions=False) as other:
        users = StubUsers(who)
        other.app.state.container.users = users
        response = other.post("/v1/auth/login", headers={"User-Agent": "curl/8"}, json={
            "email": "ada@example.com", "password": "s3cret", "totpCode": "123456",
            "deviceInfo": {"type": "desktop", "os": "linux", "fingerprint": "abc"}})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["tokenType"] == "Bearer"
        assert body["refreshToken"].startswith("rt_")
        assert users.logins == [(str(who.user_id), who.user_id)]
        [session] = other.get("/v1/sessions", headers=bearer(body["accessToken"])).json()["data"]
        assert (session["id"], session["userAgent"]) == (body["sessionId"], "curl/8")
        assert session["deviceInfo"]["os"] == "linux"
        refused = other.post("/v1/auth/login", json={"email": "x@example.com"})
        assert refused.status_code in (400, 422)
