"""Resource types over HTTP with the real projector: registration, evolution, versions, paging,
If-Match and the tenant wall."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from infra.eventstore import EventStore
from tests.integration.test_api_keys import as_key, issue, new_org

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"sku": {"type": "string"}},
                          "required": ["sku"]}
EXTENDED = {**SCHEMA, "properties": {**SCHEMA["properties"], "note": {"type": "string"}}}
TIGHTENED = {**EXTENDED, "required": ["sku", "note"]}


def register(client: TestClient[Any], org: str, name: str = "orders",
             schema: dict[str, Any] = SCHEMA, **body: Any) -> Any:
    return client.post("/v1/resource-types", json={
        "name": name, "schema": schema, "organizationId": org, **body})


def read(client: TestClient[Any], org: str, name: str, position: int, **params: Any) -> Any:
    return client.get(f"/v1/resource-types/{name}", params={
        "organization_id": org, "min_position": position, **params})


def test_a_registered_type_is_readable_and_a_second_registration_is_409(
        client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    created = register(client, org, description="Orders", indexed=["sku"])
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/resource-types/orders"
    seen = read(client, org, "orders", created.json()["position"])
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert (body["name"], body["schema"], body["typeVersion"], body["indexed"]) == (
        "orders", SCHEMA, 1, ["sku"])
    assert seen.headers["etag"] == '"1"'
    dup = register(client, org, schema={"type": "object"})
    assert dup.status_code == 409
    assert dup.json()["error"]["reason"] == "resource_type_exists"


def test_a_schema_the_meta_schema_refuses_is_422_with_the_failing_pointer(
        client: TestClient[Any], store: EventStore) -> None:
    org = new_org(client)["id"]
    head = store.head()
    bad = register(client, org, schema={"type": "object", "properties": {"sku": {
        "type": "strin"}}})
    assert bad.status_code == 422, bad.text
    error = bad.json()["error"]
    assert error["reason"] == "schema_invalid"
    assert error["details"][0]["field"] == "/schema/properties/sku/type"
    assert register(client, org, name="Orders").json()["error"]["reason"] == (
        "resource_type_name_invalid")
    assert store.head() == head


def test_extending_in_place_keeps_the_type_version_and_a_breaking_change_adds_one(
        client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    register(client, org)
    extended = client.patch("/v1/resource-types/orders", params={"organization_id": org},
                            json={"schema": EXTENDED}, headers={"If-Match": '"1"'})
    assert extended.status_code == 200, extended.text
    now = read(client, org, "orders", extended.json()["position"]).json()
    assert (now["schema"], now["typeVersion"], now["version"]) == (EXTENDED, 1, 2)
    broken = client.patch("/v1/resource-types/orders", params={"organization_id": org},
                          json={"schema": TIGHTENED, "description": "strict"})
    assert broken.status_code == 200, broken.text
    position = broken.json()["position"]
    current = read(client, org, "orders", position).json()
    assert (current["schema"], current["typeVersion"], current["description"]) == (
        TIGHTENED, 2, "strict")
    old = read(client, org, "orders", position, version=1).json()
    assert (old["schema"], old["typeVersion"]) == (EXTENDED, 1)
    missing = read(client, org, "orders", position, version=3)
    assert missing.json()["error"]["reason"] == "resource_type_not_found"


def test_a_change_under_a_stale_if_match_is_refused_and_changes_nothing(
        client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    register(client, org)
    stale = client.patch("/v1/resource-types/orders", params={"organization_id": org},
                         json={"description": "x"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412, stale.text
    assert stale.json()["error"]["code"] == "version_conflict"
    unknown = client.patch("/v1/resource-types/nothing", params={"organization_id": org},
                           json={"description": "x"})
    assert unknown.json()["error"]["reason"] == "resource_type_not_found"


def test_the_list_pages_by_cursor_in_registration_order(client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    last = [register(client, org, name=f"t{i}").json() for i in range(5)][-1]
    first = client.get("/v1/resource-types", params={
        "organization_id": org, "limit": 2, "min_position": last["position"]}).json()
    assert [t["name"] for t in first["data"]] == ["t0", "t1"]
    assert (first["pagination"]["total"], first["pagination"]["hasNext"]) == (5, True)
    names, cursor = [], first["pagination"]["nextCursor"]
    while cursor:
        page = client.get("/v1/resource-types", params={
            "organization_id": org, "limit": 2, "cursor": cursor}).json()
        names += [t["name"] for t in page["data"]]
        cursor = page["pagination"]["nextCursor"]
    assert names == ["t2", "t3", "t4"]
    bad = client.get("/v1/resource-types", params={"organization_id": org, "cursor": "zz"})
    assert bad.json()["error"]["reason"] == "cursor_invalid"


def test_another_organizations_types_answer_404_to_a_key(client: TestClient[Any]) -> None:
    mine, theirs = new_org(client)["id"], new_org(client)["id"]
    position = register(client, theirs, name="secret").json()["position"]
    key = issue(client, mine)
    own = as_key(client, key, "POST", "/v1/resource-types", json={
        "name": "mine", "schema": SCHEMA})
    assert own.status_code == 201, own.text
    for method, path, kw in (
            ("GET", "/v1/resource-types/secret", {"params": {"organization_id": theirs,
                                                             "min_position": position}}),
            ("GET", "/v1/resource-types", {"params": {"organization_id": theirs}}),
            ("PATCH", "/v1/resource-types/secret", {"params": {"organization_id": theirs},
                                                    "json": {"description": "x"}})):
        assert as_key(client, key, method, path, **kw).status_code == 404
    # Its own organization has no type of that name: the name is per organization.
    assert as_key(client, key, "GET", "/v1/resource-types/secret",
                  params={"min_position": position}).status_code == 404
    listed = as_key(client, key, "GET", "/v1/resource-types",
                    params={"min_position": own.json()["position"]}).json()
    assert [t["name"] for t in listed["data"]] == ["mine"]


def test_a_key_without_the_resources_permission_is_refused(client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    key = issue(client, org, permissions=[{"resource": "resources", "actions": ["read"]}])
    refused = as_key(client, key, "POST", "/v1/resource-types", json={
        "name": "x", "schema": SCHEMA})
    assert refused.status_code == 403
    assert as_key(client, key, "GET", "/v1/resource-types").status_code == 200
