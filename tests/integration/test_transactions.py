"""Transactions over HTTP with the real store and projector: several writes committed in one
append, a conflicting or invalid item committing nothing (store and read model), another
organization's ids refused, per-type grants, Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from litestar.testing import TestClient

from domain.envelope import decode
from infra.eventstore import EVENTS_TABLE
from tests.integration.test_api_keys import as_key, issue
from tests.integration.test_resources import create, get, with_type

PATH = "/v1/transactions"


def commit(client: TestClient[Any], org: str, *items: dict[str, Any], **kw: Any) -> Any:
    return client.post(PATH, params={"organization_id": org}, json={"items": list(items)}, **kw)


def events(db: psycopg.Connection) -> int:
    row = db.execute(f"SELECT count(*) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def test_writes_across_resources_are_one_append_and_read_back_at_their_position(
        client: TestClient[Any], db: psycopg.Connection) -> None:
    org = with_type(client)
    existing = create(client, org, {"data": {"name": "Maya"}}).json()
    done = commit(client, org,
                  {"op": "create", "type": "bees", "data": {"name": "Willy"}},
                  {"op": "patch", "type": "bees", "id": existing["id"], "expectedVersion": 1,
                   "patch": {"data": {"legs": 6}}},
                  {"op": "upsert", "type": "bees", "key": "queen", "data": {"name": "Q"}})
    assert done.status_code == 200, done.text
    body = done.json()
    assert [(i["index"], i["version"]) for i in body["items"]] == [(0, 1), (1, 2), (2, 1)]
    assert body["items"][1]["id"] == existing["id"]
    rows = db.execute(f"SELECT notification_id, transaction_id FROM {EVENTS_TABLE}"
                      " WHERE originator_id = ANY(%s) AND originator_version = %s"
                      " OR originator_id = %s AND originator_version = 2",
                      ([uuid.UUID(body["items"][0]["id"]), uuid.UUID(body["items"][2]["id"])],
                       1, uuid.UUID(existing["id"]))).fetchall()
    assert len(rows) == 3
    assert len({r[1] for r in rows}) == 1  # one database transaction
    assert max(r[0] for r in rows) == body["position"]
    seen = get(client, org, f"/v1/resources/bees/{existing['id']}", body["position"]).json()
    assert (seen["version"], seen["data"]) == (2, {"name": "Maya", "legs": 6})


def test_a_transaction_with_one_conflicting_item_commits_nothing(
        client: TestClient[Any], db: psycopg.Connection) -> None:
    org = with_type(client)
    existing = create(client, org, {"data": {"name": "Maya"}}).json()
    before = events(db)
    refused = commit(client, org,
                     {"op": "create", "type": "bees", "data": {"name": "Willy"}},
                     {"op": "upsert", "type": "bees", "key": "k", "data": {"name": "K"}},
                     {"op": "delete", "type": "bees", "id": existing["id"],
                      "expectedVersion": 7})
    assert refused.status_code == 412, refused.text
    error = refused.json()["error"]
    assert error["code"] == "version_conflict"
    assert error["details"][0]["field"] == "items[2]"
    assert events(db) == before
    # The read model never sees the upsert's resource nor the delete.
    seen = get(client, org, f"/v1/resources/bees/{existing['id']}", existing["position"]).json()
    assert seen["status"] == "active"
    listed = client.get("/v1/resources/bees", params={
        "organization_id": org, "status": "any", "min_position": existing["position"]}).json()
    assert [r["id"] for r in listed["data"]] == [existing["id"]]


def test_an_invalid_item_is_a_422_naming_its_index_and_commits_nothing(
        client: TestClient[Any], db: psycopg.Connection) -> None:
    org = with_type(client)
    before = events(db)
    refused = commit(client, org, {"op": "create", "type": "bees", "data": {"name": "ok"}},
                     {"op": "create", "type": "bees", "data": {"name": 7}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "items[1]./data/name"
    incomplete = commit(client, org, {"op": "replace", "type": "bees", "data": {"name": "x"}})
    assert incomplete.status_code == 422, incomplete.text
    assert incomplete.json()["error"]["reason"] == "batch_item_incomplete"
    too_many = commit(client, org, *[{"op": "create", "type": "bees", "data": {}}] * 101)
    assert too_many.status_code == 422, too_many.text
    assert events(db) == before


def test_another_organizations_ids_are_refused_and_left_unchanged(
        client: TestClient[Any], db: psycopg.Connection) -> None:
    ours, theirs = with_type(client), with_type(client)
    foreign = create(client, theirs, {"data": {"name": "Theirs"}}).json()
    key = issue(client, ours)
    row = db.execute(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}").fetchone()
    assert row is not None
    before = row[0]
    for item in ({"op": "delete", "type": "bees", "id": foreign["id"]},
                 {"op": "patch", "type": "bees", "id": foreign["id"],
                  "patch": {"data": {"name": "Ours"}}}):
        refused = as_key(client, key, "POST", PATH, json={"items": [
            {"op": "create", "type": "bees", "data": {"name": "x"}}, item]})
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"]["details"][0]["field"] == "items[1]"
    elsewhere = as_key(client, key, "POST", PATH, params={"organization_id": theirs},
                       json={"items": [{"op": "create", "type": "bees", "data": {}}]})
    assert elsewhere.status_code == 404, elsewhere.text
    assert db.execute(f"SELECT count(*) FROM {EVENTS_TABLE} WHERE originator_id = %s",
                      (uuid.UUID(foreign["id"]),)).fetchone() == (1,)
    # Only these two organizations' events count: other tests' workers share the store.
    later = db.execute(f"SELECT state FROM {EVENTS_TABLE} WHERE notification_id > %s"
                       " AND topic LIKE 'resource.%%'", (before,)).fetchall()
    mine = {uuid.UUID(ours), uuid.UUID(theirs)}
    assert [e for (state,) in later if (e := decode(bytes(state))).organization_id in mine] == []


def test_a_key_needs_each_items_action_on_its_type(client: TestClient[Any]) -> None:
    org = with_type(client)
    key = issue(client, org, permissions=[{"resource": "resources:bees",
                                           "actions": ["create"]}])
    made = as_key(client, key, "POST", PATH, json={"items": [
        {"op": "create", "type": "bees", "data": {"name": "a"}}]})
    assert made.status_code == 200, made.text
    refused = as_key(client, key, "POST", PATH, json={"items": [
        {"op": "create", "type": "bees", "data": {"name": "b"}},
        {"op": "delete", "type": "bees", "id": made.json()["items"][0]["id"]}]})
    assert refused.status_code == 403, refused.text


def test_the_same_idempotency_key_replays_the_first_answer(client: TestClient[Any]) -> None:
    org = with_type(client)
    item = {"op": "create", "type": "bees", "data": {"name": "once"}}
    key = {"Idempotency-Key": f"tx-{uuid.uuid4()}"}
    first = commit(client, org, item, headers=key)
    again = commit(client, org, item, headers=key)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
