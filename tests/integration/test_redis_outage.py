"""Redis unreachable: the routes that need it answer 503 with Retry-After and the structured
error body, promptly, never a 500 (a second app on the same database, its REDIS_URL dead)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from infra.settings import Settings
from tests.conftest import Mailbox, free_port
from tests.integration.conftest import AUTH, HTTPS
from tests.integration.identity import PASSWORD, PUBLIC, accept, invite
from tests.integration.test_api_keys import new_org
from tests.integration.test_sessions import bearer, start_session

BOUND_S = 5.0  # the Redis client's timeouts are 2 s; nothing may wait much longer


@pytest.fixture(scope="module", params=["refused", "silent"])
def no_redis(request: pytest.FixtureRequest, settings: Settings,
             client: TestClient[Any]) -> Iterator[TestClient[Any]]:
    """The same database and broker, and a Redis that refuses connections, or one that
    accepts them and never answers. (``client`` first: it made the signing key this app
    only loads.)"""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1] if request.param == "silent" else free_port()
        dead = msgspec.structs.replace(settings, redis_url=f"redis://127.0.0.1:{port}/0")
        with TestClient(app=create_app(dead), base_url=HTTPS,
                        raise_server_exceptions=False) as c:
            c.headers.update(AUTH)
            yield c


def unavailable(response: Any, took: float) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert (error["code"], error["reason"]) == ("service_unavailable", "service_unavailable")
    assert error["requestId"]
    assert took < BOUND_S


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_an_idempotent_create_answers_503_with_retry_after(no_redis: TestClient[Any]) -> None:
    unavailable(*timed(lambda: no_redis.post(
        "/v1/organizations", json={"name": "Down", "slug": f"down-{free_port()}"},
        headers={"Idempotency-Key": f"k-{time.time_ns()}"})))


def test_listing_sessions_answers_503_with_retry_after(
        client: TestClient[Any], no_redis: TestClient[Any]) -> None:
    tokens = start_session(client, new_org(client)["id"])
    unavailable(*timed(lambda: no_redis.get("/v1/sessions",
                                            headers=bearer(tokens.access_token))))


def test_login_answers_503_with_retry_after(client: TestClient[Any], mailbox: Mailbox,
                                            no_redis: TestClient[Any]) -> None:
    email, _invited = invite(client, new_org(client)["id"])
    assert accept(client, mailbox.token_for(email)).status_code == 200
    unavailable(*timed(lambda: no_redis.post(
        "/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=PUBLIC)))


def test_rate_limiting_in_closed_mode_answers_503_with_retry_after(settings: Settings,
                                                                   client: TestClient[Any]) -> None:
    closed = msgspec.structs.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                                     rate_limit_failure_mode="closed")
    with TestClient(app=create_app(closed), base_url=HTTPS,
                    raise_server_exceptions=False) as c:
        response, took = timed(lambda: c.get("/v1/organizations", headers=AUTH))
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["reason"] == "rate_limiter_unavailable"
    assert took < BOUND_S
