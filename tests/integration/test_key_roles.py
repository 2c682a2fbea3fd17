"""An API key under a role: whatever its own permissions say, never more than the role's."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import wait_until
from tests.integration.test_api_keys import ALL, as_key, new_org

KEYS = "/v1/api-keys"


def issue_with_role(client: TestClient[Any], org_id: str, role: str | None,
                    permissions: list[dict[str, Any]] = ALL) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "k", "organizationId": org_id, "permissions": permissions}
    if role is not None:
        body["role"] = role
    issued = client.post(KEYS, json=body)
    assert issued.status_code == 201, issued.text
    out = issued.json()
    seen = client.get(f"{KEYS}/{out['id']}", params={"min_position": out["position"]})
    assert seen.json()["role"] == role
    return out  # type: ignore[no-any-return]


def denied_reason(response: Any) -> str:
    assert response.status_code in (403, 404), response.text
    return response.json()["error"]["reason"]  # type: ignore[no-any-return]


def test_a_key_with_every_permission_under_the_viewer_role_can_only_read(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    viewer = issue_with_role(client, org["id"], "viewer")["key"]
    assert as_key(client, viewer, "GET", f"/v1/organizations/{org['id']}").status_code == 200
    assert as_key(client, viewer, "GET", KEYS).status_code == 200
    write = as_key(client, viewer, "POST", KEYS, json={"name": "x", "permissions": []})
    assert denied_reason(write) == "permission_denied"
    rename = as_key(client, viewer, "PATCH", f"/v1/organizations/{org['id']}", json={"name": "Z"})
    assert denied_reason(rename) == "permission_denied"


def test_a_key_passes_its_role_on_and_cannot_hand_out_a_wider_one(client: TestClient[Any]) -> None:
    org = new_org(client)
    member = issue_with_role(client, org["id"], "member")
    # Issued by the member key with no role named: the child inherits "member".
    child = as_key(client, member["key"], "POST", KEYS, json={
        "name": "child", "permissions": [{"resource": "organizations", "actions": ["read"]}]})
    assert child.status_code == 201, child.text
    seen = client.get(f"{KEYS}/{child.json()['id']}", params={"min_position": child.json()["position"]})
    assert seen.json()["role"] == "member"
    wider = as_key(client, member["key"], "POST", KEYS, json={
        "name": "admin", "role": "admin",
        "permissions": [{"resource": "organizations", "actions": ["read"]}]})
    assert denied_reason(wider) == "permission_escalation"
    unknown = client.post(KEYS, json={"name": "k", "organizationId": org["id"],
                                      "permissions": ALL, "role": "superuser"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["reason"] == "role_not_found"


def test_changing_a_custom_role_narrows_its_keys_at_once(client: TestClient[Any]) -> None:
    org = new_org(client)
    role = client.post("/v1/roles", json={
        "name": "Auditors", "organizationId": org["id"],
        "permissions": [{"resource": "organizations", "actions": ["read"]},
                        {"resource": "api_keys", "actions": ["read"]}]})
    assert role.status_code == 201, role.text
    role_id = role.json()["id"]
    client.get(f"/v1/roles/{role_id}", params={"min_position": role.json()["position"]})
    key = issue_with_role(client, org["id"], role_id)["key"]
    assert as_key(client, key, "GET", KEYS).status_code == 200
    narrowed = client.patch(f"/v1/roles/{role_id}", json={
        "permissions": [{"resource": "organizations", "actions": ["read"]}]})
    assert narrowed.status_code == 200, narrowed.text
    wait_until(lambda: as_key(client, key, "GET", KEYS).status_code == 403, timeout=20,
               message="the narrowed role reaches the key cache")
    assert as_key(client, key, "GET", f"/v1/organizations/{org['id']}").status_code == 200
    assert client.delete(f"/v1/roles/{role_id}").status_code == 200
    wait_until(lambda: as_key(client, key, "GET", f"/v1/organizations/{org['id']}"
                              ).status_code == 403,
               timeout=20, message="a deleted role leaves its keys nothing")
