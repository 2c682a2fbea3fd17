"""Over HTTP with the real store, projector and bulk worker: the relationship rules and a key's
permission conditions on transactions, bulk items and the single routes, and the list of bulk
operations (filters, cursor paging, no per-item results)."""

from __future__ import annotations

from typing import Any

import psycopg
from litestar.testing import TestClient

from infra.bulk import BulkWorker
from tests.integration.test_api_keys import as_key, issue
from tests.integration.test_bulk_operations import finished, submit
from tests.integration.test_bulk_operations import worker as worker
from tests.integration.test_resources import create, get, with_type
from tests.integration.test_transactions import commit, events

ALL = ["create", "read", "update", "delete"]


def bee(name: str, **relations: str) -> dict[str, Any]:
    return {"data": {"name": name}, "relationships": [
        {"type": kind, "id": rid} for kind, rid in relations.items()]}


def test_a_transaction_refuses_a_cycle_its_items_make_and_a_delete_others_depend_on(
        client: TestClient[Any], db: psycopg.Connection) -> None:
    org = with_type(client)
    a, b = (create(client, org, bee(n)).json()["id"] for n in ("a", "b"))
    target = create(client, org, bee("target")).json()
    dependent = create(client, org, bee("dep", dependency=target["id"])).json()
    before = events(db)
    cycle = commit(client, org,
                   {"op": "patch", "type": "bees", "id": b,
                    "patch": {"relationships": [{"type": "parent", "id": a}]}},
                   {"op": "patch", "type": "bees", "id": a,
                    "patch": {"relationships": [{"type": "parent", "id": b}]}})
    assert cycle.status_code == 422, cycle.text
    assert cycle.json()["error"]["details"][0]["field"] == "items[1].relationships"
    held = commit(client, org, {"op": "delete", "type": "bees", "id": target["id"]})
    assert held.status_code == 409, held.text
    assert held.json()["error"]["details"][0]["field"] == "items[0]"
    assert events(db) == before
    done = commit(client, org, {"op": "delete", "type": "bees", "id": target["id"],
                                "cascade": True})
    assert done.status_code == 200, done.text
    gone = get(client, org, f"/v1/resources/bees/{dependent['id']}", done.json()["position"])
    assert gone.json()["status"] == "deleted"


def test_a_bulk_delete_others_depend_on_fails_alone_unless_it_cascades(
        client: TestClient[Any], worker: BulkWorker) -> None:
    org = with_type(client)
    target = create(client, org, bee("target")).json()
    dependent = create(client, org, bee("dep", dependency=target["id"])).json()
    a = create(client, org, bee("a")).json()["id"]
    accepted = submit(client, org, [
        {"op": "delete", "type": "bees", "id": target["id"]},
        {"op": "update", "type": "bees", "id": a,
         "patch": {"relationships": [{"type": "parent", "id": a}]}},
        {"op": "delete", "type": "bees", "id": target["id"], "cascade": True}]).json()
    results = finished(client, org, accepted)["results"]
    assert [(r["success"], r.get("error")) for r in results] == [
        (False, "resource_has_dependents"), (False, "relationship_cycle"), (True, None)]
    seen = get(client, org, f"/v1/resources/bees/{dependent['id']}").json()
    assert seen["status"] == "deleted"


def test_a_key_allowed_only_eu_resources_writes_no_us_one_through_any_path(
        client: TestClient[Any], worker: BulkWorker) -> None:
    org = with_type(client)
    us = create(client, org, {"data": {"name": "u", "region": "us"}}).json()
    key = issue(client, org, permissions=[{"resource": "resources", "actions": ALL,
                                           "conditions": {"filters": {"data.region": "eu"}}}])
    us_bee = {"data": {"name": "x", "region": "us"}}
    assert as_key(client, key, "POST", "/v1/resources/bees", json=us_bee).status_code == 403
    assert as_key(client, key, "PUT", f"/v1/resources/bees/{us['id']}",
                  json={"data": {"name": "x", "region": "eu"}}).status_code == 404
    assert as_key(client, key, "DELETE", f"/v1/resources/bees/{us['id']}").status_code == 404
    assert as_key(client, key, "GET", f"/v1/resources/bees/{us['id']}").status_code == 404
    tx = as_key(client, key, "POST", "/v1/transactions", json={"items": [
        {"op": "create", "type": "bees", "data": {"name": "e", "region": "eu"}},
        {"op": "create", "type": "bees", **us_bee}]})
    assert tx.status_code == 403, tx.text
    assert tx.json()["error"]["details"][0]["field"] == "items[1]"
    accepted = as_key(client, key, "POST", "/v1/bulk-operations", json={"items": [
        {"op": "create", "type": "bees", **us_bee},
        {"op": "create", "type": "bees", "data": {"name": "e", "region": "eu"}}]}).json()
    results = finished(client, org, accepted)["results"]
    assert [(r["success"], r.get("error")) for r in results] == [
        (False, "permission_denied"), (True, None)]
    made = as_key(client, key, "POST", "/v1/resources/bees",
                  json={"data": {"name": "e", "region": "eu"}})
    assert made.status_code == 201, made.text


def test_a_filtered_key_lists_counts_and_pages_only_what_it_may_see(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    made = [create(client, org, {"data": {"name": f"b{i}", "region": r}}).json()
            for i, r in enumerate(["us", "eu", "us", "eu", "us"])]
    key = issue(client, org, permissions=[{"resource": "resources", "actions": ["read"],
                                           "conditions": {"filters": {"data.region": "eu"}}}])
    page = as_key(client, key, "GET", "/v1/resources/bees", params={
        "limit": 1, "count": "exact", "min_position": made[-1]["position"]}).json()
    assert [r["id"] for r in page["data"]] == [made[1]["id"]]
    assert (page["pagination"]["total"], page["pagination"]["hasNext"]) == (2, True)
    rest = as_key(client, key, "GET", "/v1/resources/bees", params={
        "limit": 1, "cursor": page["pagination"]["nextCursor"]}).json()
    assert [r["id"] for r in rest["data"]] == [made[3]["id"]]
    assert as_key(client, key, "GET",
                  f"/v1/resources/bees/{made[0]['id']}/versions").status_code == 404
    assert as_key(client, key, "GET",
                  f"/v1/resources/bees/{made[1]['id']}/versions").status_code == 200


def test_a_field_restricted_key_sees_only_its_data_paths(client: TestClient[Any]) -> None:
    org = with_type(client)
    made = create(client, org, {"data": {"name": "Maya", "legs": 6,
                                         "hive": {"city": "Oslo", "size": 3}}}).json()
    key = issue(client, org, permissions=[{"resource": "resources:bees", "actions": ["read"],
                                           "conditions": {"fields": ["status",
                                                                     "data.hive.city"]}}])
    seen = as_key(client, key, "GET", f"/v1/resources/bees/{made['id']}").json()
    assert seen == {"id": made["id"], "status": "active", "data": {"hive": {"city": "Oslo"}}}


def listed(client: TestClient[Any], org: str, **params: Any) -> dict[str, Any]:
    found = client.get("/v1/bulk-operations", params={"organization_id": org, **params})
    assert found.status_code == 200, found.text
    return found.json()  # type: ignore[no-any-return]


def test_the_bulk_operations_list_pages_by_cursor_and_filters_by_status_and_submitter(
        client: TestClient[Any], worker: BulkWorker) -> None:
    org = with_type(client)
    key = issue(client, org)
    mine = as_key(client, key, "POST", "/v1/bulk-operations", json={"items": [
        {"op": "create", "type": "bees", "data": {"name": "k"}}]}).json()
    ops = [submit(client, org, [{"op": "create", "type": "bees", "data": {"name": f"b{i}"}}]
                  ).json() for i in range(2)]
    for accepted in (mine, *ops):
        finished(client, org, accepted)
    first = listed(client, org, limit=2)
    assert [o["id"] for o in first["data"]] == [mine["id"], ops[0]["id"]]
    assert "results" not in first["data"][0]
    assert (first["pagination"]["total"], first["pagination"]["hasNext"]) == (3, True)
    rest = listed(client, org, limit=2, cursor=first["pagination"]["nextCursor"])
    assert [o["id"] for o in rest["data"]] == [ops[1]["id"]]
    by_key = listed(client, org, createdBy=mine["createdBy"])
    assert [o["id"] for o in by_key["data"]] == [mine["id"]]
    assert listed(client, org, status="pending")["data"] == []
    assert len(listed(client, org, status="completed")["data"]) == 3
    bad = client.get("/v1/bulk-operations", params={"organization_id": org, "status": "x"})
    assert bad.status_code == 400

