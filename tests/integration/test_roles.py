"""Custom roles over HTTP: names unique per organization, permissions granted through
authenticate(), and no key grants more than it holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar.testing import TestClient

from tests.conftest import Mailbox
from tests.integration.identity import (
    PASSWORD,
    accept,
    invite,
    nonce,
)
from tests.integration.test_api_keys import ALL, as_key, issue, new_org


def test_custom_roles_grant_their_permissions_and_names_are_unique_per_org(
        client: TestClient[Any], mailbox: Mailbox, container: Any) -> None:
    org, other = new_org(client), new_org(client)
    perms = [{"resource": "logs", "actions": ["read"]}]
    created = client.post("/v1/roles", json={"name": "Support", "organizationId": org["id"],
                                             "permissions": perms})
    assert created.status_code == 201, created.text
    role_id = created.json()["id"]
    dup = client.post("/v1/roles", json={"name": "support", "organizationId": org["id"]})
    assert dup.json()["error"]["reason"] == "role_name_taken"
    elsewhere = client.post("/v1/roles", json={"name": "Support", "organizationId": other["id"]})
    assert elsewhere.status_code == 201
    reserved = client.post("/v1/roles", json={"name": "Admin", "organizationId": org["id"]})
    assert reserved.json()["error"]["reason"] == "role_name_reserved"
    listed = client.get("/v1/roles", params={"organization_id": org["id"],
                                             "min_position": created.json()["position"]})
    names = [(r["name"], r["isSystem"]) for r in listed.json()["data"]]
    assert names == [("owner", True), ("admin", True), ("member", True), ("viewer", True),
                     ("Support", False)]
    foreign = client.post("/v1/users", json={"email": f"x-{nonce()}@example.com",
                                             "organizationId": other["id"], "role": role_id})
    assert foreign.json()["error"]["reason"] == "role_not_found"
    email, _ = invite(client, org["id"], role=role_id,
                            permissions=[{"resource": "users", "actions": ["read"]}])
    accept(client, mailbox.token_for(email))
    who = container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert [(p.resource, p.actions) for p in who.permissions] == [
        ("logs", ("read",)), ("users", ("read",))]
    renamed = client.patch(f"/v1/roles/{role_id}", json={"name": "Helpdesk"})
    assert renamed.status_code == 200
    assert client.post("/v1/roles", json={"name": "Support", "organizationId": org["id"]}
                       ).status_code == 201, "the old name is free again"
    deleted = client.delete(f"/v1/roles/{role_id}")
    assert deleted.status_code == 200
    assert client.get(f"/v1/roles/{role_id}", params={
        "min_position": deleted.json()["position"]}).status_code == 404
    who = container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert [p.resource for p in who.permissions] == ["users"]


def test_a_key_cannot_grant_a_role_wider_than_its_own(client: TestClient[Any]) -> None:
    org = new_org(client)
    admin_like = issue(client, org["id"], permissions=[
        {"resource": "users", "actions": ["create", "read", "update", "delete"]},
        {"resource": "logs", "actions": ["read"]}])
    wider = as_key(client, admin_like, "POST", "/v1/users",
                   json={"email": f"w-{nonce()}@example.com", "role": "owner"})
    assert wider.status_code == 403
    assert wider.json()["error"]["reason"] == "permission_escalation"
    own = as_key(client, admin_like, "POST", "/v1/users",
                 json={"email": f"o-{nonce()}@example.com", "role": "viewer",
                       "permissions": []})
    assert own.status_code == 403, "viewer reads organizations, which this key cannot"
    narrow = as_key(client, admin_like, "POST", "/v1/roles",
                    json={"name": "Logs", "permissions": [{"resource": "logs",
                                                           "actions": ["read"]}]})
    assert narrow.status_code == 403, "the key has no roles permission"
    full = issue(client, org["id"], permissions=ALL)
    assert as_key(client, full, "POST", "/v1/users", json={
        "email": f"f-{nonce()}@example.com", "role": "admin"}).status_code == 201
