"""The OpenAPI document is complete and the docs page works offline (no service is needed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import schemathesis
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from api.app import create_app
from api.organizations import examples
from api.organizations.schemas import CreateOrganizationBody, SuspendBody, UpdateOrganizationBody
from api.platform.errors import ErrorBody
from infra.settings import ROOT, load_settings
from tests.conftest import ADMIN_TOKEN

METHODS = ("get", "post", "put", "patch", "delete")
COMMANDS = ("post", "patch", "delete")
PUBLIC_V1 = {"/v1/auth/login", "/v1/auth/refresh"}  # no bearer token; limited per client IP
# Nothing listens there: building the app and its document must not need any service.
NOWHERE = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
           "REDIS_URL": "redis://127.0.0.1:9/0", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
           "CLICKHOUSE_URL": "http://127.0.0.1:9/none"}


@pytest.fixture(scope="module")
def app() -> Litestar:
    return create_app(load_settings({**NOWHERE, "CHRONICLE_ADMIN_TOKEN": ADMIN_TOKEN}))


@pytest.fixture(scope="module")
def client(app: Litestar) -> TestClient[Any]:
    """Without the lifespan: the docs need no container, so nothing is connected."""
    return TestClient(app=app, raise_server_exceptions=True)


@pytest.fixture(scope="module")
def spec(client: TestClient[Any]) -> dict[str, Any]:
    response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = spec["components"][kind][name]
    return node


def header_parameters(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    found = [resolve(spec, p) for p in operation.get("parameters", [])]
    return {p["name"]: p for p in found if p["in"] == "header"}


def test_every_route_of_the_app_is_in_the_document(app: Litestar, spec: dict[str, Any]) -> None:
    routed = {(route.path_format, method.lower()) for route in app.routes
              if isinstance(route, HTTPRoute)
              for method, (handler, _) in route.route_handler_map.items()
              if method != "OPTIONS" and handler.resolve_include_in_schema()}
    documented = {(path, method) for path, method, _ in operations(spec)}
    assert routed == documented
    assert ("/v1/organizations", "post") in documented


PUBLIC = {"/v1/auth/signup", "/v1/auth/verify-email", "/v1/auth/accept-invitation"}


def test_every_v1_operation_needs_the_bearer_token_and_documents_401(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["operatorToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, method, operation in operations(spec):
        if path in PUBLIC_V1:  # the credential is in the body; a bad one is a 401
            assert not operation.get("security"), (method, path)
            assert {"401", "429"} <= set(operation["responses"]), (method, path)
        elif path in PUBLIC:
            assert not operation.get("security"), (method, path)
            assert "401" not in operation["responses"], (method, path)
            assert "429" in operation["responses"], (method, path)
        elif path.startswith("/v1/"):
            assert operation["security"] == [{"operatorToken": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
        else:
            assert "security" not in operation, (method, path)
    assert "security" not in spec


def test_every_error_response_is_the_error_body_with_examples_that_decode(
        spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400 or (path == "/health/ready" and status == "503"):
                continue
            if path.startswith("/oauth/") and status in ("400", "401"):  # RFC 6749's shape
                content = response["content"]["application/json"]
                assert "#/components/schemas/OAuthErrorBody" in json.dumps(content["schema"])
                continue
            content = response["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
            assert content["examples"], (method, path, status)
            for example in content["examples"].values():
                msgspec.convert(example["value"], ErrorBody)
            assert "X-Request-Id" in response["headers"], (method, path, status)


def test_commands_document_idempotency_key_and_if_match(spec: dict[str, Any]) -> None:
    commands = [(path, method, op) for path, method, op in operations(spec)
                if path.startswith("/v1/organizations") and method in COMMANDS]
    assert len(commands) == 5
    for path, method, operation in commands:
        headers = header_parameters(spec, operation)
        assert headers["Idempotency-Key"]["schema"]["maxLength"] == 255, (method, path)
        creates = path == "/v1/organizations"
        assert ("If-Match" in headers) is not creates, (method, path)
        success = operation["responses"]["201" if creates else "200"]
        assert success["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/CommandAccepted"}
        assert {"ETag", "Idempotent-Replayed", "X-Request-Id"} <= set(success["headers"])
        assert ("Location" in success["headers"]) is creates
        assert {"400", "409", "413", "422", "429"} <= set(operation["responses"])


def test_limits_and_retries_are_documented_where_they_are_sent(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        headers = header_parameters(spec, operation)
        assert {"X-Request-Id", "Chronicle-Version"} <= set(headers), (method, path)
        responses = operation["responses"]
        if path.startswith("/v1/"):
            assert {"Retry-After", "RateLimit-Remaining"} <= set(responses["429"]["headers"])
            assert "Retry-After" in responses["503"]["headers"]
            success = next(status for status in responses if status.startswith("2"))
            assert "RateLimit-Limit" in responses[success]["headers"], (method, path)


def test_the_rate_limit_override_is_documented_on_the_read_and_the_patch(
        spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name, shape in (("OrganizationOut", "RateLimit"), ("UpdateOrganizationBody", "RateLimitIn")):
        assert schemas[name]["properties"]["rateLimit"]["oneOf"] == [
            {"$ref": f"#/components/schemas/{shape}"}, {"type": "null"}], name
        assert set(schemas[shape]["required"]) == {
            "requestsPerSecond", "burstLimit", "requestsPerMinute", "requestsPerHour",
            "requestsPerDay"}
    patch_errors = spec["paths"]["/v1/organizations/{organization_id}"]["patch"]["responses"]
    assert "operator_only" in patch_errors["403"]["content"]["application/json"]["examples"]


def test_request_examples_are_valid_bodies() -> None:
    for body in examples.CREATE_REQUESTS.values():
        msgspec.convert(body, CreateOrganizationBody)
    for body in examples.UPDATE_REQUESTS.values():
        msgspec.convert(body, UpdateOrganizationBody)
    for body in examples.SUSPEND_REQUESTS.values():
        msgspec.convert(body, SuspendBody)


def test_the_docs_page_loads_only_bundled_assets(client: TestClient[Any]) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    html = page.text
    assert not re.search(r"(https?:)?//", html), html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 100, asset
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert 'data-spec-url="/docs/openapi.json"' in html
    assert "<script>" not in html  # no inline script: the docs page's CSP allows only 'self'


def test_chronicle_openapi_writes_the_served_document_without_any_service(
        tmp_path: Path, spec: dict[str, Any]) -> None:
    out = tmp_path / "openapi.json"
    # Another hash seed than this process's: the document must not depend on hash order.
    done = subprocess.run([sys.executable, "-m", "infra.cli", "openapi", "--output", str(out)],
                          cwd=ROOT, env={**os.environ, **NOWHERE, "PYTHONHASHSEED": "0"},
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    written = json.loads(out.read_text())
    assert written["openapi"].startswith("3.1")
    assert written == spec
    schemathesis.openapi.from_dict(written).validate()  # against the OpenAPI 3.1 meta-schema
