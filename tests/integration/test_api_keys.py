"""API keys on the real services: issue, authenticate, scope to the tenant, roll, revoke."""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar.testing import TestClient

from tests.conftest import wait_until

ALL = [{"resource": "*", "actions": ["create", "read", "update", "delete"]}]


def new_org(client: TestClient[Any], plan: str = "enterprise") -> dict[str, Any]:
    """An organization, readable before it is returned (its plan sets its keys' limits)."""
    created = client.post("/v1/organizations", json={
        "name": "Tenant", "slug": f"tenant-{uuid.uuid4().hex[:10]}", "plan": plan}).json()
    client.get(f"/v1/organizations/{created['id']}", params={"min_position": created["position"]})
    return created  # type: ignore[no-any-return]


def issue(client: TestClient[Any], org_id: str, **body: Any) -> str:
    response = client.post("/v1/api-keys", json={
        "name": "key", "organizationId": org_id, "permissions": ALL, **body})
    assert response.status_code == 201, response.text
    issued = response.json()
    seen = client.get(f"/v1/api-keys/{issued['id']}",
                      params={"min_position": issued["position"]})
    assert seen.status_code == 200, seen.text
    return issued["key"]  # type: ignore[no-any-return]


def as_key(client: TestClient[Any], key: str, method: str, path: str, **kw: Any) -> Any:
    return client.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kw)


def test_an_issued_key_is_shown_once_and_listed_without_its_secret(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    key = issue(client, org["id"], environment="test")
    assert key.startswith("pk_test_")
    listed = client.get("/v1/api-keys", params={"organization_id": org["id"]}).json()["data"]
    assert len(listed) == 1
    assert key not in str(listed)
    assert listed[0]["keyPrefix"] == "_".join(key.split("_")[:3])


def test_a_key_sees_its_own_organization_and_nothing_of_another(
        client: TestClient[Any]) -> None:
    mine, theirs = new_org(client), new_org(client)
    key = issue(client, mine["id"])
    assert as_key(client, key, "GET", f"/v1/organizations/{mine['id']}").status_code == 200
    other = as_key(client, key, "GET", f"/v1/organizations/{theirs['id']}")
    assert other.status_code == 404
    assert "Tenant" not in other.text
    listed = as_key(client, key, "GET", "/v1/organizations").json()
    assert [o["id"] for o in listed["data"]] == [mine["id"]]
    assert as_key(client, key, "PATCH", f"/v1/organizations/{theirs['id']}",
                  json={"name": "x"}).status_code == 404
    assert as_key(client, key, "GET", "/v1/api-keys",
                  params={"organization_id": theirs["id"]}).status_code == 404
    assert as_key(client, key, "POST", "/v1/organizations",
                  json={"name": "x", "slug": f"x-{uuid.uuid4().hex[:8]}"}).status_code == 403
    assert as_key(client, key, "GET", "/v1/projections").status_code == 403


def test_permissions_limit_what_a_key_may_do(client: TestClient[Any]) -> None:
    org = new_org(client)
    reader = issue(client, org["id"], permissions=[
        {"resource": "organizations", "actions": ["read"]},
        {"resource": "api_keys", "actions": ["create"]}])
    denied = as_key(client, reader, "PATCH", f"/v1/organizations/{org['id']}",
                    json={"name": "renamed"})
    assert denied.status_code == 403
    assert denied.json()["error"]["reason"] == "permission_denied"
    wider = as_key(client, reader, "POST", "/v1/api-keys", json={
        "name": "wider", "permissions": [{"resource": "organizations", "actions": ["update"]}]})
    assert wider.status_code == 403
    assert wider.json()["error"]["reason"] == "permission_escalation"


def test_a_revoked_key_stops_working(client: TestClient[Any]) -> None:
    org = new_org(client)
    key = issue(client, org["id"])
    path = f"/v1/organizations/{org['id']}"
    assert as_key(client, key, "GET", path).status_code == 200
    key_id = uuid.UUID(key.split("_")[2])
    assert client.delete(f"/v1/api-keys/{key_id}").status_code == 200
    wait_until(lambda: as_key(client, key, "GET", path).status_code == 401, timeout=20,
               message="revocation reaches the key cache")
    assert as_key(client, key, "GET", path).json()["error"]["code"] == "invalid_api_key"


def test_a_rolled_key_keeps_the_old_secret_for_the_grace_period_only(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    old = issue(client, org["id"])
    key_id = old.split("_")[2]
    path = f"/v1/organizations/{org['id']}"
    rolled = client.post(f"/v1/api-keys/{uuid.UUID(key_id)}/roll",
                         json={"gracePeriodSeconds": 2}).json()
    new = rolled["key"]
    assert new != old
    wait_until(lambda: as_key(client, new, "GET", path).status_code == 200, timeout=20,
               message="the new secret works")
    assert as_key(client, old, "GET", path).status_code == 200, "still in its grace period"
    time.sleep(2.1)
    assert as_key(client, old, "GET", path).status_code == 401
    assert as_key(client, new, "GET", path).status_code == 200


def test_tampered_expired_and_unknown_keys_get_401(client: TestClient[Any]) -> None:
    org = new_org(client)
    key = issue(client, org["id"])
    path = f"/v1/organizations/{org['id']}"
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert as_key(client, tampered, "GET", path).status_code == 401
    unknown = f"pk_live_{uuid.uuid4().hex}_{'x' * 43}"
    assert as_key(client, unknown, "GET", path).status_code == 401
    from datetime import UTC, datetime, timedelta
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    expiring = issue(client, org["id"], expiresAt=soon)
    assert as_key(client, expiring, "GET", path).status_code == 200
    time.sleep(2.1)
    assert as_key(client, expiring, "GET", path).status_code == 401


def test_a_key_is_limited_by_its_own_rate_limit(client: TestClient[Any]) -> None:
    org = new_org(client)
    key = issue(client, org["id"], rateLimit={
        "requestsPerSecond": 0.01, "burstLimit": 2, "requestsPerMinute": 100,
        "requestsPerHour": 1000, "requestsPerDay": 10000})
    path = f"/v1/organizations/{org['id']}"
    codes = [as_key(client, key, "GET", path).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_issuing_a_key_refuses_an_idempotency_key(client: TestClient[Any]) -> None:
    org = new_org(client)
    response = client.post("/v1/api-keys", headers={"Idempotency-Key": "k1"}, json={
        "name": "k", "organizationId": org["id"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_not_supported"


def test_field_conditions_hide_every_other_field(client: TestClient[Any]) -> None:
    org = new_org(client)
    key = issue(client, org["id"], permissions=[{
        "resource": "organizations", "actions": ["read"], "conditions": {"fields": ["name"]}}])
    seen = as_key(client, key, "GET", f"/v1/organizations/{org['id']}").json()
    assert seen == {"id": org["id"], "name": "Tenant"}
    listed = as_key(client, key, "GET", "/v1/organizations").json()["data"]
    assert listed == [{"id": org["id"], "name": "Tenant"}]


def test_filter_conditions_hide_objects_that_do_not_match(client: TestClient[Any]) -> None:
    org = new_org(client, plan="starter")
    key = issue(client, org["id"], permissions=[{
        "resource": "organizations", "actions": ["read"],
        "conditions": {"filters": {"plan": "enterprise"}}}])
    path = f"/v1/organizations/{org['id']}"
    assert as_key(client, key, "GET", path).status_code == 404
    upgraded = client.patch(path, json={"plan": "enterprise"}).json()
    client.get(path, params={"min_position": upgraded["position"]})
    assert as_key(client, key, "GET", path).json()["plan"] == "enterprise"
