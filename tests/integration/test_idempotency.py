"""Idempotency keys on the real services: replay, reuse, concurrency, and a crash after commit."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from infra.eventstore import EventStore
from infra.settings import Settings
from tests.conftest import free_port, spawn, wait_until
from tests.integration.conftest import AUTH


def up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def post(url: str, key: str, payload: dict[str, str]) -> tuple[int, bytes]:
    r = httpx.post(f"{url}/v1/organizations", json=payload, timeout=30,
                   headers={**AUTH, "Idempotency-Key": key})
    return r.status_code, r.content


def body() -> dict[str, str]:
    return {"name": "Idem", "slug": f"idem-{uuid.uuid4().hex[:10]}"}


def test_a_repeat_with_the_same_key_replays_the_first_response(
        client: TestClient[Any], store: EventStore) -> None:
    key, payload = str(uuid.uuid4()), body()
    first = client.post("/v1/organizations", json=payload, headers={"Idempotency-Key": key})
    head = store.head()
    again = client.post("/v1/organizations", headers={"Idempotency-Key": key,
                                                        "Content-Type": "application/json"},
                        content=b'{ "slug": "%s", "name": "Idem" }' % payload["slug"].encode())
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert store.head() == head, "the replay wrote nothing"


def test_the_same_key_with_other_parameters_gets_422(client: TestClient[Any]) -> None:
    key = str(uuid.uuid4())
    assert client.post("/v1/organizations", json=body(),
                       headers={"Idempotency-Key": key}).status_code == 201
    other = client.post("/v1/organizations", json=body(), headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_keys_on_patch_and_no_op_commands_are_recorded_too(client: TestClient[Any]) -> None:
    created = client.post("/v1/organizations", json=body()).json()
    path, key = f"/v1/organizations/{created['id']}", str(uuid.uuid4())
    same_name = {"name": "Idem"}
    first = client.patch(path, json=same_name, headers={"Idempotency-Key": key})
    assert first.json()["version"] == 1
    assert first.json()["position"] is None
    client.patch(path, json={"name": "Changed"})
    again = client.patch(path, json=same_name, headers={"Idempotency-Key": key})
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "na\u00efve"])
def test_a_malformed_key_gets_400(client: TestClient[Any], key: str) -> None:
    response = client.post("/v1/organizations", json=body(),
                           headers={"Idempotency-Key": key.encode()})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"


def test_concurrent_repeats_across_two_api_processes_run_the_command_once(
        settings: Settings, store: EventStore, tmp_path: Path) -> None:
    key, payload = str(uuid.uuid4()), body()
    head = store.head()
    port = free_port()
    api = spawn(settings, "api", log=tmp_path / "api.log", PORT=str(port), API_WORKERS="2")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: up(url), timeout=60, message="api")
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(lambda _: post(url, key, payload), range(16)))
    finally:
        os.killpg(api.pid, 15)
        api.wait(timeout=30)

    statuses = {status for status, _ in outcomes}
    assert statuses <= {201, 409}
    assert 201 in statuses
    assert len({content for status, content in outcomes if status == 201}) == 1
    created = [e for e in (r.envelope for r in store.read(head, 1000))
               if e.event_type == "organization.Created" and e.event.slug == payload["slug"]]  # type: ignore[union-attr]
    assert len(created) == 1


def test_a_crash_after_commit_is_answered_by_replay_and_the_command_ran_once(
        settings: Settings, store: EventStore, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "api.log"
    key, payload = str(uuid.uuid4()), body()
    url = f"http://127.0.0.1:{port}"
    crashing = spawn(settings, "api", log=log, PORT=str(port), API_WORKERS="1",
                     CHRONICLE_ENV="test", CHRONICLE_FAILPOINTS="after_commit")
    try:
        wait_until(lambda: up(url), timeout=60, message="crashing api")
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{url}/v1/organizations", json=payload, timeout=20,
                       headers={**AUTH, "Idempotency-Key": key})
        crashing.wait(timeout=30)
    finally:
        if crashing.poll() is None:
            os.killpg(crashing.pid, 9)
    healthy = spawn(settings, "api", log=log, PORT=str(port), API_WORKERS="1")
    try:
        wait_until(lambda: up(url), timeout=60, message="api after the crash")
        retry = httpx.post(f"{url}/v1/organizations", json=payload, timeout=20,
                           headers={**AUTH, "Idempotency-Key": key})
    finally:
        os.killpg(healthy.pid, 15)
        healthy.wait(timeout=30)
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    events = store.load(uuid.UUID(retry.json()["id"]))
    assert [e.event_type for e in events] == ["organization.Created"]
