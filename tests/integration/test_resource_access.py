"""A grant's conditions on resources: the fields it shows and the filters a resource must match,
per type, on reads and writes."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.integration.test_api_keys import as_key, issue
from tests.integration.test_resources import MERGE, OPERATOR, create, get, with_type


def test_a_grant_with_fields_shows_only_those_and_one_with_filters_only_what_matches(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    made = [create(client, org, {"data": {"name": n}}).json() for n in ("Maya", "Willy")]
    archived = client.post(f"/v1/resources/bees/{made[1]['id']}/archive",
                           params={"organization_id": org}).json()
    top = get(client, org, f"/v1/resources/bees/{made[1]['id']}", archived["position"]).json()
    narrow = issue(client, org, permissions=[{"resource": "resources:bees", "actions": ["read"],
                                              "conditions": {"fields": ["status", "version"]}}])
    seen = as_key(client, narrow, "GET", f"/v1/resources/bees/{made[0]['id']}").json()
    assert seen == {"id": made[0]["id"], "status": "active", "version": 1}
    active_only = issue(client, org, permissions=[{
        "resource": "resources", "actions": ["read"], "conditions": {"filters": {
            "status": "active"}}}])
    assert as_key(client, active_only, "GET", f"/v1/resources/bees/{made[0]['id']}",
                  ).status_code == 200
    assert top["status"] == "archived"
    assert as_key(client, active_only, "GET", f"/v1/resources/bees/{made[1]['id']}",
                  ).status_code == 404
    listed = as_key(client, active_only, "GET", "/v1/resources/bees",
                    params={"status": "any"}).json()
    assert [r["id"] for r in listed["data"]] == [made[0]["id"]]


def patched(client: TestClient[Any], key: str, path: str) -> Any:
    return client.patch(path, json={"data": {"legs": 6}},
                        headers={**MERGE, "Authorization": f"Bearer {key}"})


def test_filters_on_who_wrote_a_resource_and_when_bind_writes_as_the_api_shows_them(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    made = create(client, org, {"data": {"name": "Maya"}}).json()
    path = f"/v1/resources/bees/{made['id']}"
    shown = get(client, org, path, made["position"]).json()
    crud = ["create", "read", "update", "delete"]
    by_operator = issue(client, org, permissions=[{"resource": "resources", "actions": crud,
                                                   "conditions": {"filters": {
                                                       "createdBy": OPERATOR}}}])
    changed = patched(client, by_operator, path)
    assert changed.status_code == 200, changed.text
    mine = as_key(client, by_operator, "POST", "/v1/resources/bees", json={"data": {"name": "x"}})
    assert mine.status_code == 403, mine.text
    assert mine.json()["error"]["reason"] == "permission_denied"
    at_creation = issue(client, org, permissions=[{"resource": "resources", "actions": crud,
                                                   "conditions": {"filters": {
                                                       "createdAt": shown["createdAt"]}}}])
    assert patched(client, at_creation, path).status_code == 200
    as_updated = issue(client, org, permissions=[{"resource": "resources", "actions": crud,
                                                  "conditions": {"filters": {
                                                      "updatedAt": shown["updatedAt"]}}}])
    assert patched(client, as_updated, path).status_code == 404  # changed since
    assert get(client, org, path).json()["version"] == 3


def test_a_key_writes_only_its_fields_and_a_replace_keeps_the_others(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    made = create(client, org, {"data": {"name": "Maya", "legs": 4},
                                "metadata": {"tags": ["queen"]}}).json()
    path = f"/v1/resources/bees/{made['id']}"
    names_only = issue(client, org, permissions=[{
        "resource": "resources:bees", "actions": ["read", "update"],
        "conditions": {"fields": ["data.name"]}}])
    outside = patched(client, names_only, path)  # sets data.legs to 6
    assert outside.status_code == 403, outside.text
    error = outside.json()["error"]
    assert (error["reason"], error["details"][0]["field"]) == ("permission_denied", "data.legs")
    replaced = as_key(client, names_only, "PUT", path, json={"data": {"name": "Queen"}})
    assert replaced.status_code == 200, replaced.text
    seen = get(client, org, path, replaced.json()["position"]).json()
    assert (seen["version"], seen["data"], seen["metadata"]["tags"]) == (
        2, {"name": "Queen", "legs": 4}, ["queen"])


def test_a_key_filtered_on_a_time_lists_and_counts_only_what_it_may_see(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    made = [create(client, org, {"data": {"name": n}}).json() for n in ("Maya", "Willy")]
    first = get(client, org, f"/v1/resources/bees/{made[0]['id']}", made[1]["position"]).json()
    key = issue(client, org, permissions=[{"resource": "resources", "actions": ["read"],
                                           "conditions": {"filters": {
                                               "createdAt": first["createdAt"]}}}])
    page = as_key(client, key, "GET", "/v1/resources/bees",
                  params={"count": "exact", "limit": 1}).json()
    assert [r["id"] for r in page["data"]] == [made[0]["id"]]
    assert (page["pagination"]["total"], page["pagination"]["hasNext"]) == (1, False)
