"""Alert rules over HTTP with the real projector: create, read, page, patch, delete; a
tenant's own rules only; a system-wide rule for the operator; bad input refused unwritten."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from infra.eventstore import EventStore
from tests.integration.test_api_keys import as_key, issue, new_org

RULE = {"name": "Errors", "metric": "error_rate", "windowSeconds": 300, "comparison": "gt",
        "threshold": 0.05}


def create(client: TestClient[Any], org: str | None, **body: Any) -> Any:
    extra = {"organizationId": org} if org else {}
    return client.post("/v1/alert-rules", json={**RULE, **extra, **body})


def test_a_created_rule_reads_back_ok_with_no_evaluation_and_its_etag(
        client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    created = create(client, org, route="/v1/resources/{resource_type}", include4xx=True)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/alert-rules/{created.json()['id']}"
    seen = client.get(created.headers["location"],
                      params={"min_position": created.json()["position"]})
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert (body["organizationId"], body["metric"], body["threshold"], body["state"]) == (
        org, "error_rate", 0.05, "ok")
    assert (body["route"], body["include4xx"], body["enabled"]) == (
        "/v1/resources/{resource_type}", True, True)
    assert (body["lastValue"], body["lastEvaluatedAt"], body["changedAt"]) == (None, None, None)
    assert seen.headers["etag"] == '"1"'


def test_a_patch_changes_the_fields_given_and_a_null_route_clears_it(
        client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    path = create(client, org, route="/v1/users").headers["location"]
    changed = client.patch(path, json={"threshold": 0.2, "enabled": False},
                           headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    cleared = client.patch(path, json={"route": None})
    body = client.get(path, params={"min_position": cleared.json()["position"]}).json()
    assert (body["threshold"], body["enabled"], body["route"], body["version"]) == (
        0.2, False, None, 3)
    stale = client.patch(path, json={"name": "late"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412


def test_a_deleted_rule_is_gone_from_reads_and_writes(client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    path = create(client, org).headers["location"]
    deleted = client.delete(path)
    assert deleted.status_code == 200, deleted.text
    assert client.get(path, params={"min_position": deleted.json()["position"]}
                      ).status_code == 404
    listed = client.get("/v1/alert-rules", params={"organization_id": org}).json()
    assert listed["data"] == []
    again = client.delete(path)
    assert again.status_code == 404
    assert again.json()["error"]["reason"] == "alert_rule_not_found"


def test_rules_page_in_creation_order_and_a_tenant_lists_only_its_own(
        client: TestClient[Any]) -> None:
    org, other = new_org(client)["id"], new_org(client)["id"]
    ids = [create(client, org, name=f"r{i}").json()["id"] for i in range(3)]
    last = create(client, other).json()
    key = issue(client, org)
    first = as_key(client, key, "GET", "/v1/alert-rules", params={
        "limit": 2, "min_position": last["position"]}).json()
    assert [r["id"] for r in first["data"]] == ids[:2]
    assert (first["pagination"]["total"], first["pagination"]["hasNext"]) == (3, True)
    rest = as_key(client, key, "GET", "/v1/alert-rules", params={
        "limit": 2, "cursor": first["pagination"]["nextCursor"]}).json()
    assert [r["id"] for r in rest["data"]] == ids[2:]
    assert as_key(client, key, "GET", f"/v1/alert-rules/{last['id']}").status_code == 404


def test_the_operator_makes_a_system_wide_rule_no_tenant_sees(client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    system = create(client, None, metric="projection_lag", threshold=10_000)
    assert system.status_code == 201, system.text
    path = system.headers["location"]
    seen = client.get(path, params={"min_position": system.json()["position"]}).json()
    assert seen["organizationId"] is None
    key = issue(client, org)
    assert as_key(client, key, "GET", path).status_code == 404
    listed = as_key(client, key, "GET", "/v1/alert-rules").json()
    assert system.json()["id"] not in {r["id"] for r in listed["data"]}
    assert as_key(client, key, "DELETE", path).status_code == 404


def test_a_tenants_rule_without_an_organization_is_its_own(client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    made = as_key(client, issue(client, org), "POST", "/v1/alert-rules", json=RULE)
    assert made.status_code == 201, made.text
    seen = client.get(made.headers["location"], params={"min_position": made.json()["position"]})
    assert seen.json()["organizationId"] == org


def test_bad_definitions_are_422_and_write_nothing(client: TestClient[Any],
                                                   store: EventStore) -> None:
    org = new_org(client)["id"]
    head = store.head()
    for body, where in (({"threshold": 1.5}, "alert_rule_threshold_invalid"),
                        ({"route": "v1/x"}, "alert_rule_route_invalid"),
                        ({"name": "  "}, "alert_rule_name_invalid")):
        refused = create(client, org, **body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["reason"] == where
    for body in ({"windowSeconds": 59}, {"metric": "cpu"}, {"comparison": "eq"},
                 {"threshold": -1}, {"name": "x" * 101}, {"route": "/" + "x" * 200}):
        refused = create(client, org, **body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["code"] == "validation_failed"
    assert store.head() == head
