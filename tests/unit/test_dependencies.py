"""The routes' dependencies, read from the route table without any service: resolved one at a
time, and none of them documented as a parameter a client sends."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from api.app import create_app
from infra.settings import load_settings

# Nothing listens there: building the app and its document needs no service.
NOWHERE = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
           "REDIS_URL": "redis://127.0.0.1:9/0", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
           "CLICKHOUSE_URL": "http://127.0.0.1:9/none"}
INJECTED = {"container", "ctx", "expected", "caller", "tenant", "caught_up"}


@pytest.fixture(scope="module")
def app() -> Litestar:
    return create_app(load_settings(NOWHERE))


def handlers(app: Litestar) -> list[tuple[str, Any, Any]]:
    return [(f"{method} {route.path}", handler, kwargs) for route in app.routes
            if isinstance(route, HTTPRoute)
            for method, (handler, kwargs) in route.route_handler_map.items()]


def test_no_route_resolves_two_dependencies_at_once(app: Litestar) -> None:
    """Two in one batch would run in a task group: ~0.2 ms a request for nothing."""
    batched = [label for label, _handler, kwargs in handlers(app)
               if any(len(batch) > 1 for batch in kwargs.dependency_batches)]
    assert batched == []


def test_a_dependency_comes_after_the_dependencies_it_takes(app: Litestar) -> None:
    for label, _handler, kwargs in handlers(app):
        seen: set[str] = set()
        for [dependency] in kwargs.dependency_batches:
            assert {d.key for d in dependency.dependencies} <= seen, label
            seen.add(dependency.key)


def test_routes_receive_the_plumbing_by_injection(app: Litestar) -> None:
    injected = {name for _label, _handler, kwargs in handlers(app)
                for batch in kwargs.dependency_batches for name in (d.key for d in batch)}
    assert injected == INJECTED


def test_no_injected_value_is_documented_as_a_parameter(app: Litestar) -> None:
    schema = app.openapi_schema.to_schema()
    documented = {(path, method, p.get("name")) for path, item in schema["paths"].items()
                  for method, operation in item.items() if isinstance(operation, dict)
                  for p in operation.get("parameters", [])}
    assert [d for d in documented if d[2] in INJECTED] == []
    waits = {(path, method) for path, method, name in documented if name == "min_position"}
    assert ("/v1/organizations/{organization_id}", "get") in waits
