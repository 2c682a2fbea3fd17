"""Revocations survive Redis losing its data: after FLUSHALL, no revoked access token (logout;
a session deleted), spent refresh token or used request signature is accepted again, by the
process that saw the revocations nor by one started afterwards.

FLUSHALL empties the Redis every test run shares: a test running at the same moment may see
its sessions or idempotency locks vanish (CI runs tests one at a time)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from litestar.testing import TestClient

from api.app import create_app
from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.integration.conftest import HTTPS
from tests.integration.test_api_keys import new_org
from tests.integration.test_sessions import bearer, container_of, refresh, start_session
from tests.integration.test_signing import issue_signed, reason, signed


@pytest.fixture
def lose_redis(settings: Settings) -> Iterator[Any]:
    client = redis.Redis.from_url(settings.redis_url)
    yield lambda: client.flushall()
    client.close()


def started_after(settings: Settings) -> TestClient[Any]:
    return TestClient(app=create_app(settings), base_url=HTTPS, raise_server_exceptions=False)


def test_after_redis_comes_back_empty_no_revoked_token_spent_refresh_or_used_signature_works(
        client: TestClient[Any], settings: Settings, lose_redis: Any) -> None:
    org = new_org(client)
    path = f"/v1/organizations/{org['id']}"
    logged_out, deleted = start_session(client, org["id"]), start_session(client, org["id"])
    assert client.post("/v1/auth/logout", headers=bearer(logged_out.access_token)
                       ).status_code == 200
    assert client.delete(f"/v1/sessions/{deleted.session.id}").status_code == 200
    rotating = start_session(client, org["id"])
    assert refresh(client, rotating.refresh_token).status_code == 200
    key = issue_signed(client, org["id"])
    stamp = int(time.time())
    assert signed(client, key, "PATCH", path, {"name": "signed"}, at=stamp).status_code == 200

    lose_redis()
    container_of(client).deny.reset()  # what a lost feed does: reload at once
    time.sleep(0.5)
    with started_after(settings) as fresh:
        fresh.headers.update({"Authorization": f"Bearer {ADMIN_TOKEN}"})
        for app in (client, fresh):
            for tokens in (logged_out, deleted):
                for method in ("GET", "PATCH"):
                    refused = app.request(method, path, json={"name": "back"},
                                          headers=bearer(tokens.access_token))
                    assert refused.status_code == 401, refused.text
                    assert refused.json()["error"]["code"] == "token_revoked"
            for spent in (rotating.refresh_token, logged_out.refresh_token):
                assert refresh(app, spent).status_code == 401
            assert reason(signed(app, key, "PATCH", path, {"name": "signed"}, at=stamp)
                          ) == "signature_replayed"


def test_a_spent_refresh_token_stays_spent_when_redis_comes_back_with_an_older_copy(
        client: TestClient[Any], settings: Settings) -> None:
    """An AOF that lost its last second, or a restored snapshot: the session as it was
    before its refresh token rotated."""
    tokens = start_session(client, new_org(client)["id"])
    r = redis.Redis.from_url(settings.redis_url)
    key = f"{settings.redis_key_prefix}session:{tokens.session.id}"
    older = {part: r.get(key + part) for part in ("", ":refresh")}
    assert refresh(client, tokens.refresh_token).status_code == 200
    r.delete(f"{key}:spent")
    for part, value in older.items():
        r.set(key + part, value or b"", ex=300)
    reused = refresh(client, tokens.refresh_token)
    assert reused.status_code == 401, reused.text
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    r.close()
