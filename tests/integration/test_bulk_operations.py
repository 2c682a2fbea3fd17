"""Bulk operations over HTTP with the real store, projector and bulk worker: 202 at once,
progress and per-item results by index, a bad item failing alone, and a worker process killed
mid-chunk and between chunks resuming with each item applied exactly once."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from commands.bulk import BulkCommands
from domain.limits import BULK_CHUNK_ITEMS
from infra.bulk import BulkWorker
from infra.eventstore import EVENTS_TABLE, EventStore
from infra.jsonschemas import JsonSchemas
from infra.settings import Settings
from tests.conftest import free_port, spawn, wait_until
from tests.integration.test_api_keys import as_key, issue
from tests.integration.test_resources import create, with_type

PATH = "/v1/bulk-operations"


@pytest.fixture
def worker(settings: Settings, store: EventStore) -> Iterator[BulkWorker]:
    running = BulkWorker(settings, BulkCommands(store, JsonSchemas()))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    yield running
    running.stop()
    thread.join(timeout=30)


def submit(client: TestClient[Any], org: str, items: list[dict[str, Any]]) -> Any:
    return client.post(PATH, params={"organization_id": org}, json={"items": items})


def creates(n: int, bad: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    return [{"op": "create", "type": "bees", "data": {"name": 7 if i in bad else f"bee {i}"}}
            for i in range(n)]


def operation(client: TestClient[Any], org: str, accepted: dict[str, Any]) -> dict[str, Any]:
    """The operation as the read model has it, once it has the submission at least."""
    seen = client.get(f"{PATH}/{accepted['id']}", params={
        "organization_id": org, "min_position": accepted["position"]})
    assert seen.status_code == 200, seen.text
    return seen.json()  # type: ignore[no-any-return]


def finished(client: TestClient[Any], org: str, accepted: dict[str, Any]) -> dict[str, Any]:
    wait_until(lambda: operation(client, org, accepted)["status"] in ("completed", "failed"),
               timeout=60, message="the bulk operation to finish")
    return operation(client, org, accepted)


def writes_per_resource(db: psycopg.Connection, org: str) -> list[int]:
    """How many events each of the organization's resource streams has."""
    rows = db.execute(
        f"SELECT count(*) FROM {EVENTS_TABLE} WHERE topic LIKE 'resource.%%'"
        " AND convert_from(state, 'UTF8')::jsonb ->> 'organization_id' = %s"
        " GROUP BY originator_id", (org,)).fetchall()
    return [r[0] for r in rows]


def test_a_bulk_operation_of_a_few_hundred_items_completes_with_per_item_results(
        client: TestClient[Any], worker: BulkWorker, db: psycopg.Connection) -> None:
    org = with_type(client)
    existing = create(client, org, {"data": {"name": "Maya"}}).json()
    items = [*creates(BULK_CHUNK_ITEMS + 50, bad=(3,)),
             {"op": "update", "type": "bees", "id": existing["id"],
              "patch": {"data": {"legs": 6}}},
             {"op": "upsert", "type": "bees", "key": "queen", "data": {"name": "Q"}},
             {"op": "delete", "type": "bees", "id": str(uuid.uuid4())}]
    accepted = submit(client, org, items)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert (body["status"], body["totalCount"], body["results"]) == ("pending", len(items), [])
    assert accepted.headers["location"] == f"{PATH}/{body['id']}"
    done = finished(client, org, body)
    assert (done["status"], done["successCount"], done["failureCount"]) == (
        "completed", len(items) - 2, 2)
    results = done["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert (results[3]["success"], results[3]["error"]) == (False, "data_invalid")
    assert (results[-1]["success"], results[-1]["error"]) == (False, "resource_not_found")
    assert results[-3]["version"] == 2  # the update of the existing resource
    assert done["startedAt"]
    page = client.get(f"{PATH}/{body['id']}", params={
        "organization_id": org, "results_from": 3, "results_limit": 2}).json()
    assert [r["index"] for r in page["results"]] == [3, 4]
    counts = client.get(f"{PATH}/{body['id']}", params={
        "organization_id": org, "results_limit": 0}).json()
    assert (counts["results"], counts["successCount"]) == ([], len(items) - 2)
    assert done["completedAt"]
    first = f"/v1/resources/bees/{results[0]['resourceId']}"
    wait_until(lambda: client.get(first, params={"organization_id": org}).status_code == 200,
               message="the first item's resource in the read model")
    assert client.get(first, params={"organization_id": org}).json()["data"] == {
        "name": "bee 0"}
    assert sorted(writes_per_resource(db, org)) == [1] * (BULK_CHUNK_ITEMS + 49 + 1) + [2]


def test_items_are_checked_against_the_keys_grants_and_bounds_before_anything_is_written(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    key = issue(client, org, permissions=[{"resource": "resources:bees",
                                           "actions": ["create", "read"]}])
    refused = as_key(client, key, "POST", PATH, json={"items": [
        *creates(2), {"op": "delete", "type": "bees", "id": str(uuid.uuid4())}]})
    assert refused.status_code == 403, refused.text
    empty = as_key(client, key, "POST", PATH, json={"items": []})
    assert empty.status_code == 422, empty.text
    other = as_key(client, key, "GET", f"{PATH}/{uuid.uuid4()}")
    assert other.status_code == 403, other.text  # reading takes `resources`, not one type


def test_another_organizations_operation_is_not_found(client: TestClient[Any]) -> None:
    ours, theirs = with_type(client), with_type(client)
    accepted = submit(client, theirs, creates(1)).json()
    key = issue(client, ours)
    operation(client, theirs, accepted)
    seen = as_key(client, key, "GET", f"{PATH}/{accepted['id']}")
    assert seen.status_code == 404, seen.text
    assert seen.json()["error"]["reason"] == "bulk_operation_not_found"


def run_worker(settings: Settings, log: Path, crash: str) -> int:
    """A `chronicle bulk` process until it dies at ``crash`` (<point>:<chunk>)."""
    proc = spawn(settings, "bulk", log=log, CHRONICLE_ENV="test", CHRONICLE_BULK_CRASH=crash,
                 BULK_PORT=str(free_port()), BULK_IDLE_POLL_MS="200")
    try:
        return proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_a_worker_killed_mid_chunk_and_between_chunks_resumes_applying_each_item_once(
        client: TestClient[Any], settings: Settings, db: psycopg.Connection,
        tmp_path: Path, store: EventStore) -> None:
    org = with_type(client)
    n = BULK_CHUNK_ITEMS * 3 + 20
    accepted = submit(client, org, creates(n)).json()
    log = tmp_path / "bulk.log"
    # Killed with chunk 1 decided and not appended: chunk 0 stays, nothing of chunk 1.
    assert run_worker(settings, log, "before_append:1") == 137, log.read_text()
    wait_until(lambda: operation(client, org, accepted)["successCount"] == BULK_CHUNK_ITEMS,
               message="chunk 0's results")
    assert operation(client, org, accepted)["status"] == "processing"
    assert len(writes_per_resource(db, org)) == BULK_CHUNK_ITEMS
    # Killed right after chunk 2's append, before anything else.
    assert run_worker(settings, log, "after_append:2") == 137, log.read_text()
    assert len(writes_per_resource(db, org)) == BULK_CHUNK_ITEMS * 3
    resumed = BulkWorker(settings, BulkCommands(store, JsonSchemas()))
    thread = threading.Thread(target=resumed.run, daemon=True)
    thread.start()
    try:
        done = finished(client, org, accepted)
    finally:
        resumed.stop()
        thread.join(timeout=30)
    assert (done["status"], done["successCount"], done["failureCount"]) == ("completed", n, 0)
    assert [r["index"] for r in done["results"]] == list(range(n))
    counts = writes_per_resource(db, org)
    assert len(counts) == n
    assert set(counts) == {1}


def test_a_repeated_submission_with_its_idempotency_key_is_one_operation(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    key = {"Idempotency-Key": f"bulk-{uuid.uuid4()}"}
    first = client.post(PATH, params={"organization_id": org}, json={"items": creates(2)},
                        headers=key)
    again = client.post(PATH, params={"organization_id": org}, json={"items": creates(2)},
                        headers=key)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
