"""Revocation does not wait for a read model: with the projector stopped, a revoked key, a
rolled key's old secret after its grace and a logged-out token are refused within a second
on every API process (two apps here, each with its own caches), and the new secret works;
a key issued meanwhile authenticates at once."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from infra.eventstore import EventStore, datastore_from_url
from infra.settings import Settings
from tests.conftest import Workers, wait_until
from tests.integration.conftest import AUTH, HTTPS
from tests.integration.test_api_keys import as_key, issue, new_org
from tests.integration.test_sessions import bearer, start_session

WITHIN_S = 1.0


@pytest.fixture
def two_apps(isolated: Settings) -> Iterator[tuple[TestClient[Any], TestClient[Any], Workers]]:
    """Two API processes' worth of apps on one environment whose relay and projectors run
    until the test stops them."""
    store = EventStore(datastore_from_url(isolated.database_url, pool_size=2))
    workers = Workers(isolated, store).start()
    try:
        with TestClient(app=create_app(isolated), base_url=HTTPS,
                        raise_server_exceptions=False) as one, TestClient(
                app=create_app(isolated), base_url=HTTPS,
                raise_server_exceptions=False) as two:
            one.headers.update(AUTH)
            two.headers.update(AUTH)
            yield one, two, workers
    finally:
        workers.stop()
        store.close()


def refused_within(seconds: float, call: Callable[[], Any]) -> float:
    """How long until ``call`` answers 401 (fails after ``seconds``)."""
    started = time.monotonic()
    wait_until(lambda: call().status_code == 401, timeout=seconds, interval=0.05,
               message="the credential to be refused")
    return time.monotonic() - started


def test_with_the_projector_stopped_revocations_hold_on_every_api_process(
        two_apps: tuple[TestClient[Any], TestClient[Any], Workers]) -> None:
    one, two, workers = two_apps
    org = new_org(one)
    path = f"/v1/organizations/{org['id']}"
    revoked, rolled = issue(one, org["id"]), issue(one, org["id"])
    tokens = start_session(one, org["id"])
    for app in (one, two):  # both processes have all three cached
        assert as_key(app, revoked, "GET", path).status_code == 200
        assert as_key(app, rolled, "GET", path).status_code == 200
        assert app.get(path, headers=bearer(tokens.access_token)).status_code == 200
    workers.stop()

    assert one.delete(f"/v1/api-keys/{uuid.UUID(revoked.split('_')[2])}").status_code == 200
    print("revoked key refused by the other process after",
          f"{refused_within(WITHIN_S, lambda: as_key(two, revoked, 'GET', path)):.3f}s")
    assert as_key(one, revoked, "PATCH", path, json={"name": "x"}).status_code == 401

    new = one.post(f"/v1/api-keys/{uuid.UUID(rolled.split('_')[2])}/roll",
                   json={"gracePeriodSeconds": 1}).json()["key"]
    for app in (one, two):
        assert as_key(app, new, "GET", path).status_code == 200, "the new secret works at once"
    time.sleep(1.0)
    refused_within(WITHIN_S, lambda: as_key(two, rolled, "GET", path))
    assert as_key(one, rolled, "GET", path).status_code == 401
    assert as_key(two, new, "GET", path).status_code == 200

    assert one.post("/v1/auth/logout", headers=bearer(tokens.access_token)).status_code == 200
    took = refused_within(WITHIN_S, lambda: two.get(path, headers=bearer(tokens.access_token)))
    print(f"logged-out token refused by the other process after {took:.3f}s")


def test_with_the_projector_stopped_a_new_key_authenticates_within_its_permissions(
        two_apps: tuple[TestClient[Any], TestClient[Any], Workers]) -> None:
    one, two, workers = two_apps
    org = new_org(one)
    path = f"/v1/organizations/{org['id']}"
    workers.stop()
    created = one.post("/v1/api-keys", json={"name": "new", "organizationId": org["id"],
                                             "permissions": [{"resource": "organizations",
                                                              "actions": ["read"]}]})
    assert created.status_code == 201, created.text
    fresh = created.json()["key"]
    for app in (one, two):
        assert as_key(app, fresh, "GET", path).status_code == 200
        assert as_key(app, fresh, "PATCH", path, json={"name": "x"}).status_code == 403
