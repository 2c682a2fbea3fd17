"""Tenant isolation, generated from the route table: organization A's key, aimed at B's ids,
gets 404 or 403 on every /v1 route and never sees B's data. A new route fails this test
until it is given a case below."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from infra.eventstore import EventStore
from tests.conftest import wait_until
from tests.integration.test_api_keys import ALL, issue, new_org
from tests.integration.test_sessions import start_session

# (method, route path) -> (path with B's ids, request kwargs, statuses allowed)
CASES: dict[tuple[str, str], tuple[str, dict[str, Any], set[int]]] = {
    ("GET", "/v1/organizations"): ("/v1/organizations", {}, {200}),
    ("POST", "/v1/organizations"): ("/v1/organizations", {
        "json": {"name": "x", "slug": "iso-{nonce}"}}, {403}),
    ("GET", "/v1/organizations/{organization_id:uuid}"): ("/v1/organizations/{org}", {}, {404}),
    ("PATCH", "/v1/organizations/{organization_id:uuid}"): (
        "/v1/organizations/{org}", {"json": {"name": "stolen"}}, {404}),
    ("DELETE", "/v1/organizations/{organization_id:uuid}"): (
        "/v1/organizations/{org}", {}, {404}),
    ("POST", "/v1/organizations/{organization_id:uuid}/suspend"): (
        "/v1/organizations/{org}/suspend", {"json": {}}, {404}),
    ("POST", "/v1/organizations/{organization_id:uuid}/reactivate"): (
        "/v1/organizations/{org}/reactivate", {}, {404}),
    ("GET", "/v1/organizations/{organization_id:uuid}/history"): (
        "/v1/organizations/{org}/history", {}, {404}),
    ("GET", "/v1/api-keys"): ("/v1/api-keys?organization_id={org}", {}, {404}),
    ("POST", "/v1/api-keys"): ("/v1/api-keys", {
        "json": {"name": "stolen", "organizationId": "{org}"}}, {404}),
    ("GET", "/v1/api-keys/{key_id:uuid}"): ("/v1/api-keys/{key}", {}, {404}),
    ("DELETE", "/v1/api-keys/{key_id:uuid}"): ("/v1/api-keys/{key}", {}, {404}),
    ("POST", "/v1/api-keys/{key_id:uuid}/roll"): ("/v1/api-keys/{key}/roll", {"json": {}}, {404}),
    ("GET", "/v1/projections"): ("/v1/projections", {}, {403}),
    ("POST", "/v1/auth/refresh"): ("/v1/auth/refresh", {
        "json": {"refreshToken": "rt_{session}_" + "a" * 43}}, {401}),
    ("POST", "/v1/auth/logout"): ("/v1/auth/logout", {}, {403}),
    ("GET", "/v1/sessions"): ("/v1/sessions?organization_id={org}", {}, {404}),
    ("DELETE", "/v1/sessions/{session_id:uuid}"): ("/v1/sessions/{session}", {}, {404}),
    ("POST", "/v1/oauth/authorize"): ("/v1/oauth/authorize", {"json": {
        "clientId": "{client}", "redirectUri": "https://b.example/cb",
        "codeChallenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}}, {403}),
    ("GET", "/v1/oauth/clients"): ("/v1/oauth/clients?organization_id={org}", {}, {404}),
    ("POST", "/v1/oauth/clients"): ("/v1/oauth/clients", {
        "json": {"name": "stolen", "organizationId": "{org}"}}, {404}),
    ("GET", "/v1/oauth/clients/{client_id:uuid}"): ("/v1/oauth/clients/{client}", {}, {404}),
    ("PATCH", "/v1/oauth/clients/{client_id:uuid}"): (
        "/v1/oauth/clients/{client}", {"json": {"name": "stolen"}}, {404}),
    ("DELETE", "/v1/oauth/clients/{client_id:uuid}"): ("/v1/oauth/clients/{client}", {}, {404}),
    ("POST", "/v1/oauth/clients/{client_id:uuid}/rotate-secret"): (
        "/v1/oauth/clients/{client}/rotate-secret", {}, {404}),
    ("GET", "/v1/users"): ("/v1/users?organization_id={org}", {}, {404}),
    ("POST", "/v1/users"): ("/v1/users", {
        "json": {"email": "iso-{nonce}@example.com", "organizationId": "{org}"}}, {404}),
    ("GET", "/v1/users/{user_id:uuid}"): ("/v1/users/{user}", {}, {404}),
    ("PATCH", "/v1/users/{user_id:uuid}"): ("/v1/users/{user}", {
        "json": {"firstName": "stolen", "role": "owner"}}, {404}),
    ("DELETE", "/v1/users/{user_id:uuid}"): ("/v1/users/{user}", {}, {404}),
    ("POST", "/v1/users/{user_id:uuid}/suspend"): ("/v1/users/{user}/suspend", {}, {404}),
    ("POST", "/v1/users/{user_id:uuid}/reactivate"): ("/v1/users/{user}/reactivate", {}, {404}),
    ("POST", "/v1/users/{user_id:uuid}/two-factor"): ("/v1/users/{user}/two-factor", {}, {404}),
    ("POST", "/v1/users/{user_id:uuid}/two-factor/confirm"): (
        "/v1/users/{user}/two-factor/confirm", {"json": {"code": "123456"}}, {404}),
    ("DELETE", "/v1/users/{user_id:uuid}/two-factor"): (
        "/v1/users/{user}/two-factor", {"json": {"code": "123456"}}, {404}),
    ("GET", "/v1/roles"): ("/v1/roles?organization_id={org}", {}, {404}),
    ("POST", "/v1/roles"): ("/v1/roles", {
        "json": {"name": "iso-{nonce}", "organizationId": "{org}"}}, {404}),
    ("GET", "/v1/roles/{role_id:uuid}"): ("/v1/roles/{role}", {}, {404}),
    ("PATCH", "/v1/roles/{role_id:uuid}"): ("/v1/roles/{role}", {
        "json": {"name": "stolen", "permissions": []}}, {404}),
    ("DELETE", "/v1/roles/{role_id:uuid}"): ("/v1/roles/{role}", {}, {404}),
    ("GET", "/v1/resource-types"): ("/v1/resource-types?organization_id={org}", {}, {404}),
    ("POST", "/v1/resource-types"): ("/v1/resource-types", {
        "json": {"name": "stolen", "schema": {}, "organizationId": "{org}"}}, {404}),
    ("GET", "/v1/resource-types/{name:str}"): (
        "/v1/resource-types/bees?organization_id={org}", {}, {404}),
    ("PATCH", "/v1/resource-types/{name:str}"): (
        "/v1/resource-types/bees?organization_id={org}", {"json": {"description": "stolen"}},
        {404}),
    ("GET", "/v1/resources/{resource_type:str}"): (
        "/v1/resources/bees?organization_id={org}", {}, {404}),
    ("GET", "/v1/resources/{resource_type:str}/export"): (
        "/v1/resources/bees/export?organization_id={org}", {}, {404}),
    ("POST", "/v1/resources/{resource_type:str}"): (
        "/v1/resources/bees?organization_id={org}", {"json": {"data": {}}}, {404}),
    ("PUT", "/v1/resources/{resource_type:str}/by-key/{key:str}"): (
        "/v1/resources/bees/by-key/b1?organization_id={org}", {"json": {"data": {}}}, {404}),
    ("GET", "/v1/resources/{resource_type:str}/{resource_id:uuid}"): (
        "/v1/resources/bees/{resource}", {}, {404}),
    ("PUT", "/v1/resources/{resource_type:str}/{resource_id:uuid}"): (
        "/v1/resources/bees/{resource}", {"json": {"data": {"stolen": True}}}, {404}),
    ("PATCH", "/v1/resources/{resource_type:str}/{resource_id:uuid}"): (
        "/v1/resources/bees/{resource}", {"json": {"data": {"stolen": True}}, "headers": {
            "Content-Type": "application/merge-patch+json"}}, {404}),
    ("DELETE", "/v1/resources/{resource_type:str}/{resource_id:uuid}"): (
        "/v1/resources/bees/{resource}", {}, {404}),
    ("POST", "/v1/resources/{resource_type:str}/{resource_id:uuid}/archive"): (
        "/v1/resources/bees/{resource}/archive", {}, {404}),
    ("POST", "/v1/resources/{resource_type:str}/{resource_id:uuid}/restore"): (
        "/v1/resources/bees/{resource}/restore", {}, {404}),
    ("GET", "/v1/resources/{resource_type:str}/{resource_id:uuid}/versions"): (
        "/v1/resources/bees/{resource}/versions", {}, {404}),
    ("GET", "/v1/alert-rules"): ("/v1/alert-rules?organization_id={org}", {}, {404}),
    ("POST", "/v1/alert-rules"): ("/v1/alert-rules", {"json": {
        "name": "stolen", "metric": "p95_ms", "windowSeconds": 60, "comparison": "gt",
        "threshold": 1, "organizationId": "{org}"}}, {404}),
    ("GET", "/v1/alert-rules/{rule_id:uuid}"): ("/v1/alert-rules/{rule}", {}, {404}),
    ("PATCH", "/v1/alert-rules/{rule_id:uuid}"): (
        "/v1/alert-rules/{rule}", {"json": {"name": "stolen"}}, {404}),
    ("DELETE", "/v1/alert-rules/{rule_id:uuid}"): ("/v1/alert-rules/{rule}", {}, {404}),
    ("GET", "/v1/audit"): ("/v1/audit?organization_id={org}", {}, {404}),
    ("GET", "/v1/audit/export"): ("/v1/audit/export?organization_id={org}", {}, {404}),
    ("GET", "/v1/audit/verify"): ("/v1/audit/verify?organization_id={org}", {}, {404}),
    ("GET", "/v1/events"): ("/v1/events?organization_id={org}", {}, {404}),
    ("GET", "/v1/events/streams/{stream_id:uuid}"): ("/v1/events/streams/{org}", {}, {404}),
    # Refused before any frame is sent (tests/integration/test_streams.py streams live).
    ("GET", "/v1/events/stream"): ("/v1/events/stream?organization_id={org}", {}, {404}),
    # A's own ticket: it opens A's streams only (tests/integration/test_stream_access.py).
    ("POST", "/v1/events/stream/tickets"): ("/v1/events/stream/tickets", {}, {201}),
    ("GET", "/v1/events/streams/{stream_id:uuid}/state"): (
        "/v1/events/streams/{org}/state", {}, {404}),
    ("POST", "/v1/transactions"): ("/v1/transactions", {"json": {"items": [
        {"op": "delete", "type": "bees", "id": "{resource}"}]}}, {404}),
    ("POST", "/v1/bulk-operations"): ("/v1/bulk-operations?organization_id={org}", {
        "json": {"items": [{"op": "delete", "type": "bees", "id": "{resource}"}]}}, {404}),
    ("GET", "/v1/bulk-operations/{operation_id:uuid}"): ("/v1/bulk-operations/{bulk}", {},
                                                         {404}),
    ("GET", "/v1/bulk-operations"): ("/v1/bulk-operations?organization_id={org}", {}, {404}),
    ("GET", "/v1/metrics"): ("/v1/metrics?organization_id={org}", {}, {404}),
    ("GET", "/v1/usage"): ("/v1/usage?organization_id={org}", {}, {404}),
    ("GET", "/v1/usage/statements"): ("/v1/usage/statements?organization_id={org}", {}, {404}),
    ("GET", "/v1/webhook-endpoints"): ("/v1/webhook-endpoints?organization_id={org}", {}, {404}),
    ("POST", "/v1/webhook-endpoints"): ("/v1/webhook-endpoints", {"json": {
        "url": "https://93.184.216.34/stolen", "eventTypes": ["*"], "organizationId": "{org}"}},
        {404}),
    ("GET", "/v1/webhook-endpoints/{endpoint_id:uuid}"): ("/v1/webhook-endpoints/{hook}", {},
                                                          {404}),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id:uuid}"): (
        "/v1/webhook-endpoints/{hook}", {"json": {"description": "stolen"}}, {404}),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id:uuid}"): ("/v1/webhook-endpoints/{hook}", {},
                                                             {404}),
    ("POST", "/v1/webhook-endpoints/{endpoint_id:uuid}/roll-secret"): (
        "/v1/webhook-endpoints/{hook}/roll-secret", {"json": {}}, {404}),
    ("POST", "/v1/webhook-endpoints/{endpoint_id:uuid}/test"): (
        "/v1/webhook-endpoints/{hook}/test", {}, {404}),
    ("POST", "/v1/webhook-endpoints/{endpoint_id:uuid}/replay"): (
        "/v1/webhook-endpoints/{hook}/replay", {"json": {"fromPosition": 0}}, {404}),
    ("GET", "/v1/webhook-deliveries"): ("/v1/webhook-deliveries?organization_id={org}", {},
                                        {404}),
    ("GET", "/v1/webhook-deliveries/{delivery_id:uuid}"): (
        "/v1/webhook-deliveries/{delivery}", {}, {404}),
    ("GET", "/v1/webhook-events/{event_id:uuid}"): ("/v1/webhook-events/{event}", {}, {404}),
    ("POST", "/v1/webhook-deliveries/{delivery_id:uuid}/redeliver"): (
        "/v1/webhook-deliveries/{delivery}/redeliver", {}, {404}),
    # Public: a key's Authorization header gives it nothing there; it only makes its own.
    ("POST", "/v1/auth/signup"): ("/v1/auth/signup", {"json": {
        "organizationName": "x", "slug": "iso-{nonce}", "email": "iso-{nonce}@example.com",
        "password": "a long enough password"}}, {201}),
    ("POST", "/v1/auth/verify-email"): ("/v1/auth/verify-email", {
        "json": {"token": "verify.{user_hex}.1.9999999999.00"}}, {422}),
    ("POST", "/v1/auth/accept-invitation"): ("/v1/auth/accept-invitation", {"json": {
        "token": "invite.{user_hex}.1.9999999999.00", "password": "a long enough password"}},
        {422}),
}
CASES[("POST", "/v1/auth/login")] = ("/v1/auth/login", {
    "json": {"email": "owner-of-b@example.com", "password": "not-theirs"}}, {401})


def v1_routes(client: TestClient[Any]) -> set[tuple[str, str]]:
    return {(method, route.path) for route in client.app.routes
            if route.path.startswith("/v1/")
            for method in getattr(route, "methods", ()) if method not in ("OPTIONS", "HEAD")}


def test_every_v1_route_has_an_isolation_case(client: TestClient[Any]) -> None:
    assert v1_routes(client) == set(CASES)


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def with_headers(kwargs: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """A case's request kwargs with the caller's headers added to its own (a media type)."""
    return {**kwargs, "headers": {**kwargs.get("headers", {}), **headers}}


@pytest.fixture(scope="module")
def tenants(client: TestClient[Any]) -> dict[str, str]:
    a, b = new_org(client), new_org(client)
    key_a, key_b = issue(client, a["id"], permissions=ALL), issue(client, b["id"], permissions=ALL)
    user = client.post("/v1/users", json={"email": f"bee-{uuid.uuid4().hex[:8]}@example.com",
                                          "organizationId": b["id"], "firstName": "Bee"}).json()
    role = client.post("/v1/roles", json={"name": "Bees", "organizationId": b["id"]}).json()
    for path in (f"/v1/users/{user['id']}", f"/v1/roles/{role['id']}"):
        assert client.get(path, params={"min_position": role["position"]}).status_code == 200
    bees = client.post("/v1/resource-types", json={
        "name": "bees", "schema": {"type": "object"}, "organizationId": b["id"]}).json()
    assert client.get("/v1/resource-types/bees", params={
        "organization_id": b["id"], "min_position": bees["position"]}).status_code == 200
    resource = client.post("/v1/resources/bees", params={"organization_id": b["id"]},
                           json={"data": {"name": "B's"}}).json()
    assert client.get(f"/v1/resources/bees/{resource['id']}", params={
        "organization_id": b["id"], "min_position": resource["position"]}).status_code == 200
    bulk = client.post("/v1/bulk-operations", params={"organization_id": b["id"]}, json={
        "items": [{"op": "create", "type": "bees", "data": {}}]}).json()
    assert client.get(f"/v1/bulk-operations/{bulk['id']}", params={
        "organization_id": b["id"], "min_position": bulk["position"]}).status_code == 200
    session = start_session(client, b["id"]).session.id
    oauth_client = client.post("/v1/oauth/clients", json={
        "name": "b's", "organizationId": b["id"]}).json()
    assert client.get(f"/v1/oauth/clients/{oauth_client['id']}",
                      params={"min_position": oauth_client["position"]}).status_code == 200
    hook, delivery, event = b_webhook(client, b["id"])
    rule = client.post("/v1/alert-rules", json={
        "name": "B's", "metric": "error_rate", "windowSeconds": 300, "comparison": "gt",
        "threshold": 0.5, "organizationId": b["id"]}).json()
    assert client.get(f"/v1/alert-rules/{rule['id']}",
                      params={"min_position": rule["position"]}).status_code == 200
    return {"a": a["id"], "org": b["id"], "key_a": key_a, "key_b": key_b, "rule": rule["id"],
            "key": str(uuid.UUID(key_b.split("_")[2])), "user": user["id"], "role": role["id"],
            "user_hex": uuid.UUID(user["id"]).hex, "session": session,
            "client": oauth_client["id"], "resource": resource["id"], "bulk": bulk["id"],
            "hook": hook, "delivery": delivery, "event": event}


def b_webhook(client: TestClient[Any], org_id: str) -> tuple[str, str, str]:
    """B's endpoint (a public address no test contacts) and the delivery of its test event
    (the session's fan-out queues it; no sender runs, so it stays pending)."""
    hook = client.post("/v1/webhook-endpoints", json={
        "url": "https://93.184.216.34/b", "eventTypes": ["*"], "organizationId": org_id}).json()
    asked = client.post(f"/v1/webhook-endpoints/{hook['id']}/test").json()
    found: list[dict[str, Any]] = []

    def queued() -> bool:
        found[:] = client.get("/v1/webhook-deliveries", params={
            "organization_id": org_id, "min_position": asked["position"]}).json()["data"]
        return bool(found)

    wait_until(queued, timeout=15, message="B's test delivery")
    return hook["id"], found[0]["id"], found[0]["eventId"]


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_caller_from_a_never_reaches_b(client: TestClient[Any], tenants: dict[str, str],
                                         route: tuple[str, str]) -> None:
    path, kwargs, allowed = CASES[route]
    ids = {**tenants, "nonce": uuid.uuid4().hex[:8]}
    response = client.request(route[0], fill(path, ids), **with_headers(fill(kwargs, ids), {
        "Authorization": f"Bearer {tenants['key_a']}"}))
    assert response.status_code in allowed, response.text
    assert tenants["org"] not in response.text
    assert tenants["key"] not in response.text
    assert tenants["session"] not in response.text
    assert tenants["client"] not in response.text
    assert tenants["user"] not in response.text
    assert tenants["role"] not in response.text
    assert tenants["resource"] not in response.text
    assert tenants["rule"] not in response.text
    assert tenants["bulk"] not in response.text
    assert tenants["hook"] not in response.text
    assert tenants["delivery"] not in response.text
    b_resource = client.get(f"/v1/resources/bees/{tenants['resource']}",
                            params={"organization_id": tenants["org"]}).json()
    assert (b_resource["data"], b_resource["status"]) == ({"name": "B's"}, "active")
    b_user = client.get(f"/v1/users/{tenants['user']}").json()
    assert (b_user["firstName"], b_user["role"], b_user["status"]) == ("Bee", "member", "inactive")
    assert client.get(f"/v1/roles/{tenants['role']}").json()["name"] == "Bees"
    assert client.get(f"/v1/alert-rules/{tenants['rule']}").json()["name"] == "B's"
    assert client.get("/v1/resource-types/bees", params={
        "organization_id": tenants["org"]}).json()["description"] == ""
    b_hook = client.get(f"/v1/webhook-endpoints/{tenants['hook']}").json()
    assert (b_hook["description"], b_hook["isActive"]) == ("", True)
    b_still = client.get(f"/v1/organizations/{tenants['org']}").json()
    assert (b_still["name"], b_still["status"]) == ("Tenant", "active")
    assert client.get(f"/v1/organizations/{tenants['org']}", headers={
        "Authorization": f"Bearer {tenants['key_b']}"}).status_code == 200


def denials_with(store: EventStore, after: int, request_ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for recorded in store.read(after, 100_000):
        envelope = recorded.envelope
        if envelope.event_type == "access.Denied" and envelope.request_id in request_ids:
            found[envelope.request_id] = found.get(envelope.request_id, 0) + 1
    return found


def test_every_denial_in_the_matrix_is_recorded_as_an_access_denied_event(
        client: TestClient[Any], tenants: dict[str, str], store: EventStore) -> None:
    """Every 403 and every 404 for B's ids (resource-specific ones included) is audited."""
    head, sent = store.head(), {}
    for route in sorted(CASES):
        path, kwargs, allowed = CASES[route]
        if not allowed <= {403, 404}:
            continue
        ids = {**tenants, "nonce": uuid.uuid4().hex[:8]}
        request_id = f"deny-{uuid.uuid4().hex}"
        response = client.request(route[0], fill(path, ids), **with_headers(fill(kwargs, ids), {
            "Authorization": f"Bearer {tenants['key_a']}", "X-Request-Id": request_id}))
        assert response.status_code in allowed, response.text
        sent[request_id] = f"{route[0]} {route[1]} {response.status_code}"
    found: dict[str, int] = {}

    def all_recorded() -> bool:
        found.update(denials_with(store, head, set(sent)))
        return set(found) == set(sent)

    with contextlib.suppress(AssertionError):
        wait_until(all_recorded, timeout=10, interval=0.3)
    missing = sorted(sent[r] for r in set(sent) - set(found))
    assert not missing, "\n".join(missing)
    assert set(found.values()) == {1}
