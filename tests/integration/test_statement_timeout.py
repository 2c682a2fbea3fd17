"""DB_STATEMENT_TIMEOUT bounds the API's queries: a read model locked by someone else answers
503 with Retry-After once the timeout passes, instead of holding the request (and a pool
connection) for as long as the lock lasts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import msgspec
import psycopg
import pytest
from litestar.testing import TestClient

from api.app import create_app
from infra.settings import Settings
from tests.integration.conftest import AUTH, HTTPS
from tests.integration.test_api_keys import new_org

TIMEOUT_MS = 300


@pytest.fixture(scope="module")
def bounded(settings: Settings, client: TestClient[Any]) -> Iterator[TestClient[Any]]:
    """A second app on the same database whose statements may run TIMEOUT_MS at most."""
    short = msgspec.structs.replace(settings, db_statement_timeout=TIMEOUT_MS)
    with TestClient(app=create_app(short), base_url=HTTPS, raise_server_exceptions=False) as c:
        c.headers.update(AUTH)
        yield c


def test_a_read_behind_a_held_lock_answers_503_after_the_statement_timeout(
        settings: Settings, client: TestClient[Any], bounded: TestClient[Any]) -> None:
    new_org(client)
    # The list reads the table (a read by id may answer from the process's cache).
    assert bounded.get("/v1/organizations").status_code == 200
    with psycopg.connect(settings.database_url) as locker:
        locker.execute("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = bounded.get("/v1/organizations")
        took = time.monotonic() - started
        locker.rollback()
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "service_unavailable"
    assert TIMEOUT_MS / 1000 <= took < 5
    assert bounded.get("/v1/organizations").status_code == 200


def test_the_default_timeout_is_the_setting_not_none(settings: Settings) -> None:
    assert settings.db_statement_timeout > 0
