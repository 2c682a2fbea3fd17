"""Resources over HTTP with the real projector: CRUD, merge patch, upsert by key, If-Match,
soft delete, archive/restore, versions and the past, per-type grants and the tenant wall."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from litestar.testing import TestClient

from domain.resource.document import canonical, checksum
from infra.eventstore import EventStore
from tests.integration.test_api_keys import as_key, issue, new_org

SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "name": {"type": "string"}, "legs": {"type": "integer"},
    "hive": {"type": "object"}}, "required": ["name"]}
MERGE = {"Content-Type": "application/merge-patch+json"}
OPERATOR = "operator:platform-operator"  # the actor the operator token writes as


def with_type(client: TestClient[Any], name: str = "bees") -> str:
    org = new_org(client)["id"]
    made = client.post("/v1/resource-types", json={"name": name, "schema": SCHEMA,
                                                   "organizationId": org})
    assert made.status_code == 201, made.text
    return org  # type: ignore[no-any-return]


def create(client: TestClient[Any], org: str, body: dict[str, Any], kind: str = "bees") -> Any:
    return client.post(f"/v1/resources/{kind}", params={"organization_id": org}, json=body)


def get(client: TestClient[Any], org: str, path: str, position: int | None = None,
        **params: Any) -> Any:
    wait = {"min_position": position} if position is not None else {}
    return client.get(path, params={"organization_id": org, **wait, **params})


def test_a_created_resource_is_read_back_in_the_seed_shape_with_its_etag_and_location(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    body = {"data": {"name": "Maya", "legs": 6}, "metadata": {
        "tags": ["insect"], "labels": {"colour": "yellow"}, "annotations": {"note": "busy"}}}
    created = create(client, org, body)
    assert created.status_code == 201, created.text
    rid, position = created.json()["id"], created.json()["position"]
    assert created.headers["location"] == f"/v1/resources/bees/{rid}"
    assert created.headers["etag"] == '"1"'
    seen = get(client, org, created.headers["location"], position)
    assert seen.status_code == 200, seen.text
    assert seen.headers["etag"] == '"1"'
    r = seen.json()
    encoded = canonical(body["data"])
    assert r["data"] == body["data"]
    assert r["metadata"] == {**body["metadata"], "checksum": checksum(encoded),
                             "size": len(encoded)}
    assert (r["id"], r["type"], r["typeVersion"], r["status"], r["version"]) == (
        rid, "bees", 1, "active", 1)
    assert r["createdBy"] == r["updatedBy"] == OPERATOR
    assert (r["relationships"], r["deletedAt"]) == ([], None)


def test_replace_and_merge_patch_change_the_resource_and_null_removes(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    created = create(client, org, {"data": {"name": "Maya", "legs": 6, "hive": {"a": 1, "b": 2}},
                                   "metadata": {"labels": {"x": "1", "y": "2"}}}).json()
    path = f"/v1/resources/bees/{created['id']}"
    params = {"organization_id": org}
    replaced = client.put(path, params=params, json={"data": {"name": "Willy", "hive": {
        "a": 1, "b": 2}}, "metadata": {"labels": {"x": "1", "y": "2"}}})
    assert replaced.status_code == 200, replaced.text
    assert replaced.headers["etag"] == '"2"'
    patched = client.patch(path, params=params, headers=MERGE, json={
        "data": {"legs": 4, "hive": {"b": None, "c": 3}}, "metadata": {"labels": {"y": None},
                                                                       "tags": ["new"]}})
    assert patched.status_code == 200, patched.text
    r = get(client, org, path, patched.json()["position"]).json()
    assert r["data"] == {"name": "Willy", "legs": 4, "hive": {"a": 1, "c": 3}}
    assert (r["metadata"]["labels"], r["metadata"]["tags"]) == ({"x": "1"}, ["new"])
    assert r["version"] == 3


def test_a_patch_of_another_media_type_is_415_and_a_mismatch_with_the_schema_422_with_its_pointer(
        client: TestClient[Any], store: EventStore) -> None:
    org = with_type(client)
    created = create(client, org, {"data": {"name": "Maya"}}).json()
    path, params = f"/v1/resources/bees/{created['id']}", {"organization_id": org}
    head = store.head()
    plain = client.patch(path, params=params, json={"data": {"legs": 2}})
    assert plain.status_code == 415, plain.text
    assert plain.json()["error"]["reason"] == "merge_patch_required"
    wrong = client.patch(path, params=params, headers=MERGE, json={"data": {"legs": "six"}})
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["error"]["reason"] == "data_invalid"
    assert wrong.json()["error"]["details"][0]["field"] == "/data/legs"
    missing = create(client, org, {"data": {"legs": 2}})
    assert missing.status_code == 422
    assert missing.json()["error"]["reason"] == "data_invalid"
    unknown = create(client, org, {"data": {"name": "x"}}, kind="wasps")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["reason"] == "resource_type_not_found"
    assert store.head() == head


def test_a_stale_if_match_is_412_and_changes_nothing(client: TestClient[Any],
                                                      store: EventStore) -> None:
    org = with_type(client)
    created = create(client, org, {"data": {"name": "Maya"}}).json()
    path, params = f"/v1/resources/bees/{created['id']}", {"organization_id": org}
    head = store.head()
    for method, kwargs in (("PUT", {"json": {"data": {"name": "x"}}}),
                           ("PATCH", {"json": {"data": {"name": "x"}}, "headers": MERGE}),
                           ("DELETE", {}), ("POST", {})):
        target = f"{path}/archive" if method == "POST" else path
        headers = {**kwargs.pop("headers", {}), "If-Match": '"7"'}  # type: ignore[dict-item]
        stale = client.request(method, target, params=params, headers=headers, **kwargs)
        assert stale.status_code == 412, stale.text
        assert stale.json()["error"]["code"] == "version_conflict"
    assert store.head() == head
    current = client.put(path, params=params, json={"data": {"name": "x"}},
                         headers={"If-Match": '"1"'})
    assert current.status_code == 200, current.text


def test_upserting_one_key_twice_updates_the_same_resource(client: TestClient[Any]) -> None:
    org = with_type(client)
    path, params = "/v1/resources/bees/by-key/bee-1", {"organization_id": org}
    first = client.put(path, params=params, json={"data": {"name": "Maya"}})
    second = client.put(path, params=params, json={"data": {"name": "Willy"}})
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["version"] == 2
    r = get(client, org, f"/v1/resources/bees/{first.json()['id']}",
            second.json()["position"]).json()
    assert (r["data"], r["externalKey"], r["version"]) == ({"name": "Willy"}, "bee-1", 2)


def test_concurrent_upserts_of_one_key_make_one_resource(client: TestClient[Any]) -> None:
    org = with_type(client)
    path, params = "/v1/resources/bees/by-key/swarm", {"organization_id": org}
    answers: list[Any] = []
    start = threading.Barrier(6)

    def upsert(i: int) -> None:
        start.wait()
        answers.append(client.put(path, params=params, json={"data": {"name": f"b{i}"}}))

    threads = [threading.Thread(target=upsert, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sorted(a.json()["version"] for a in answers) == [1, 2, 3, 4, 5, 6]
    top = max(a.json()["position"] for a in answers)
    listed = get(client, org, "/v1/resources/bees", top).json()
    assert len(listed["data"]) == 1


def test_delete_archive_and_restore_move_the_status_and_the_list_follows(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    params = {"organization_id": org}
    ids = [create(client, org, {"data": {"name": f"b{i}"}}).json()["id"] for i in range(3)]
    deleted = client.delete(f"/v1/resources/bees/{ids[0]}", params=params)
    archived = client.post(f"/v1/resources/bees/{ids[1]}/archive", params=params)
    assert (deleted.status_code, archived.status_code) == (200, 200), archived.text
    position = archived.json()["position"]
    gone = get(client, org, f"/v1/resources/bees/{ids[0]}", position).json()
    assert gone["status"] == "deleted"
    assert gone["deletedAt"] is not None
    assert gone["data"] == {"name": "b0"}
    active = get(client, org, "/v1/resources/bees", position).json()
    assert [r["id"] for r in active["data"]] == [ids[2]]
    every = get(client, org, "/v1/resources/bees", position, status="any").json()
    assert [r["id"] for r in every["data"]] == ids
    assert every["pagination"]["total"] == 3
    restored = client.post(f"/v1/resources/bees/{ids[0]}/restore", params=params)
    assert restored.status_code == 200, restored.text
    back = get(client, org, f"/v1/resources/bees/{ids[0]}", restored.json()["position"]).json()
    assert (back["status"], back["deletedAt"]) == ("active", None)
    assert get(client, org, "/v1/resources/bees", status="nope").status_code == 400


def test_a_list_pages_forward_by_cursor(client: TestClient[Any]) -> None:
    org = with_type(client)
    ids = [create(client, org, {"data": {"name": f"b{i}"}}).json() for i in range(5)]
    first = get(client, org, "/v1/resources/bees", ids[-1]["position"], limit=2).json()
    assert [r["id"] for r in first["data"]] == [i["id"] for i in ids[:2]]
    assert first["pagination"]["hasNext"]
    second = get(client, org, "/v1/resources/bees", limit=2,
                 cursor=first["pagination"]["nextCursor"]).json()
    assert [r["id"] for r in second["data"]] == [i["id"] for i in ids[2:4]]


def test_versions_and_the_resource_at_a_version_or_a_time_are_folded_from_its_events(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    params = {"organization_id": org}
    created = create(client, org, {"data": {"name": "v1"}}).json()
    path = f"/v1/resources/bees/{created['id']}"
    time.sleep(0.05)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    client.put(path, params=params, json={"data": {"name": "v2"}})
    client.delete(path, params=params)
    versions = client.get(f"{path}/versions", params=params).json()
    assert [(v["version"], v["eventType"]) for v in versions["data"]] == [
        (1, "resource.Created"), (2, "resource.Replaced"), (3, "resource.Deleted")]
    assert {v["actor"] for v in versions["data"]} == {OPERATOR}
    paged = client.get(f"{path}/versions", params={**params, "limit": 2}).json()
    rest = client.get(f"{path}/versions", params={
        **params, "cursor": paged["pagination"]["nextCursor"]}).json()
    assert [v["version"] for v in paged["data"] + rest["data"]] == [1, 2, 3]
    at_one = client.get(path, params={**params, "version": 1})
    assert (at_one.json()["data"], at_one.headers["etag"]) == ({"name": "v1"}, '"1"')
    then = client.get(path, params={**params, "as_of": between}).json()
    assert (then["data"], then["version"], then["status"]) == ({"name": "v1"}, 1, "active")
    last = client.get(path, params={**params, "version": 3}).json()
    assert (last["status"], last["data"]) == ("deleted", {"name": "v2"})
    assert last["deletedAt"] is not None
    before = client.get(path, params={**params, "as_of": "2000-01-01T00:00:00Z"})
    assert before.status_code == 404
    assert client.get(path, params={**params, "version": 4}).status_code == 404


def test_a_per_type_grant_allows_its_type_and_refuses_another(client: TestClient[Any]) -> None:
    org = with_type(client)
    assert client.post("/v1/resource-types", json={"name": "wasps", "schema": SCHEMA,
                                                   "organizationId": org}).status_code == 201
    key = issue(client, org, permissions=[{"resource": "resources:bees",
                                           "actions": ["create", "read"]}])
    mine = as_key(client, key, "POST", "/v1/resources/bees", json={"data": {"name": "Maya"}})
    assert mine.status_code == 201, mine.text
    seen = as_key(client, key, "GET", f"/v1/resources/bees/{mine.json()['id']}",
                  params={"min_position": mine.json()["position"]})
    assert seen.status_code == 200, seen.text
    assert seen.json()["createdBy"].startswith("api_key:")
    other = as_key(client, key, "POST", "/v1/resources/wasps", json={"data": {"name": "V"}})
    assert other.status_code == 403
    assert other.json()["error"]["reason"] == "permission_denied"
    assert as_key(client, key, "DELETE", f"/v1/resources/bees/{mine.json()['id']}",
                  ).status_code == 403


def test_another_organizations_resource_is_not_found_for_every_route(
        client: TestClient[Any]) -> None:
    theirs = with_type(client)
    mine = with_type(client)
    key = issue(client, mine)
    created = create(client, theirs, {"data": {"name": "Secret"}}).json()
    path = f"/v1/resources/bees/{created['id']}"
    get(client, theirs, path, created["position"])
    for method, target, kwargs in (
            ("GET", path, {}), ("GET", f"{path}/versions", {}), ("GET", path, {
                "params": {"version": 1}}),
            ("PUT", path, {"json": {"data": {"name": "x"}}}),
            ("PATCH", path, {"json": {"data": {"name": "x"}}, "headers": MERGE}),
            ("DELETE", path, {}), ("POST", f"{path}/archive", {}),
            ("POST", f"{path}/restore", {})):
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {key}"}
        answer = client.request(method, target, headers=headers, **kwargs)
        assert answer.status_code == 404, (method, target, answer.text)
        assert "Secret" not in answer.text
    assert get(client, theirs, path).json()["data"] == {"name": "Secret"}


def test_a_relationship_must_name_a_resource_of_the_same_organization(
        client: TestClient[Any]) -> None:
    org, other = with_type(client), with_type(client)
    parent = create(client, org, {"data": {"name": "hive"}}).json()["id"]
    foreign = create(client, other, {"data": {"name": "far"}}).json()["id"]
    child = create(client, org, {"data": {"name": "bee"}, "relationships": [
        {"type": "parent", "id": parent}]})
    assert child.status_code == 201, child.text
    r = get(client, org, f"/v1/resources/bees/{child.json()['id']}",
            child.json()["position"]).json()
    assert r["relationships"] == [{"type": "parent", "id": parent}]
    for target in (foreign, str(uuid.uuid4())):
        refused = create(client, org, {"data": {"name": "x"}, "relationships": [
            {"type": "reference", "id": target}]})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["reason"] == "relationship_unknown"


def test_a_create_with_an_idempotency_key_is_replayed_not_repeated(
        client: TestClient[Any], store: EventStore) -> None:
    org = with_type(client)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/v1/resources/bees", params={"organization_id": org}, headers=key,
                        json={"data": {"name": "Maya"}})
    head = store.head()
    again = client.post("/v1/resources/bees", params={"organization_id": org}, headers=key,
                        json={"data": {"name": "Maya"}})
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert (again.json(), again.headers["location"]) == (first.json(), first.headers["location"])
    assert store.head() == head
