"""The API in-process (litestar TestClient) on the test run's real services, and the webhook
tests' shared pair: the API over a module's own ``stack`` and a local webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from infra.container import Container
from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN, Workers
from tests.integration.webhook_receiver import Receiver, receiving

HTTPS = "https://testserver.local"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def client(settings: Settings, workers: Workers) -> Iterator[TestClient[Any]]:
    """An operator's client; the session's relay and projectors keep the read models fed.
    It speaks https, as callers in production do (organizations require it by default)."""
    with TestClient(app=create_app(settings), base_url=HTTPS,
                    raise_server_exceptions=False) as c:
        c.headers.update(AUTH)
        yield c


@pytest.fixture(scope="module")
def container(settings: Settings) -> Iterator[Container]:
    """The composition root on the test run's services, for calls no route makes yet
    (authenticate, record_login)."""
    c = Container.build(settings)
    yield c
    c.store.close()


@pytest.fixture(scope="module")
def api(stack: Any) -> Iterator[TestClient[Any]]:
    """An operator's client on the module's ``stack`` (its own provisioned services and the
    workers it runs: tests/integration/test_tracing.py, test_webhook_delivery.py)."""
    with TestClient(app=create_app(stack.settings), base_url=HTTPS,
                    raise_server_exceptions=False) as c:
        c.headers.update(AUTH)
        yield c


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A local webhook receiver; its "slow" answers outlast the webhook tests' 1 s timeout."""
    with receiving(Receiver(slow_s=1.5)) as r:
        yield r
