"""Webhooks end to end: events of an organization reach a real local receiver through the
`chronicle webhooks` process, signed, retried after a 500 and a time-out, each exactly once
after de-duplication by webhook-id and in per-stream order, across a killed worker; a 410
disables the endpoint; a redirect is not followed; a replay sends everything again."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from infra.eventstore import EventStore, datastore_from_url
from infra.projector.runner import Runner
from infra.relay import Relay
from infra.settings import Settings
from projections.registry import PROJECTIONS
from tests.conftest import deprovision, free_port, provision, spawn, wait_until
from tests.integration.test_api_keys import new_org
from tests.integration.webhook_receiver import Receiver

FEEDS = ("organizations", "webhook_endpoints", "audit_chain")
WEBHOOK_ENV = {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.0/8", "WEBHOOK_RETRY_SCHEDULE": "0,100ms,200ms,300ms",
               "WEBHOOK_TIMEOUT_S": "1", "WEBHOOK_DISABLE_AFTER": "1h"}


class Stack:
    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log = settings, log
        self.store = EventStore(datastore_from_url(settings.database_url, pool_size=2))
        self.relay = Relay(settings, self.store)
        self.runners = [Runner(settings, PROJECTIONS[n].build(settings)) for n in FEEDS]
        self.threads = [threading.Thread(target=w.run, daemon=True)
                        for w in (self.relay, *self.runners)]
        self.worker: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start_worker(self) -> None:
        self.port = free_port()
        self.worker = spawn(self.settings, "webhooks", log=self.log,
                            WEBHOOK_PORT=str(self.port), **WEBHOOK_ENV)

    def kill_worker(self) -> None:
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            self.worker.wait(timeout=20)
        for w in (self.relay, *self.runners):
            w.stop()
        for t in self.threads:
            t.join(timeout=30)
        self.store.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = provision(webhook_allowed_hosts="127.0.0.0/8")
    s = Stack(settings, tmp_path_factory.mktemp("webhooks") / "worker.log")
    for t in s.threads:
        t.start()
    s.start_worker()
    yield s
    s.stop()
    deprovision(settings)


def endpoint(api: TestClient[Any], receiver: Receiver, org_id: str, path: str,
             types: list[str]) -> dict[str, Any]:
    created = api.post("/v1/webhook-endpoints", json={
        "url": f"http://127.0.0.1:{receiver.port}{path}", "eventTypes": types,
        "organizationId": org_id})
    assert created.status_code == 201, created.text
    receiver.secrets.append(created.json()["secret"])
    return created.json()  # type: ignore[no-any-return]


def events_of(stack: Stack, org_id: str, after: int, types: tuple[str, ...]) -> list[Any]:
    return [r for r in stack.store.read(after, 10_000)
            if str(r.envelope.organization_id) == org_id
            and r.envelope.event_type.split(".")[0] in types]


def test_every_event_arrives_signed_once_in_stream_order_across_a_killed_worker(
        stack: Stack, api: TestClient[Any], receiver: Receiver) -> None:
    receiver.script["/hook"] = [500, "slow"]  # the first delivery fails, the second times out
    org = new_org(api)
    hook = endpoint(api, receiver, org["id"], "/hook", ["organization.*", "role.*"])
    start = hook["position"]
    for i in range(4):
        api.patch(f"/v1/organizations/{org['id']}", json={"name": f"Renamed {i}"})
        api.post("/v1/roles", json={"name": f"role {i}", "organizationId": org["id"]})
    wait_until(lambda: len(receiver.accepted()) >= 3, timeout=30, message="first deliveries")
    stack.kill_worker()
    for i in range(4, 7):
        api.patch(f"/v1/organizations/{org['id']}", json={"name": f"Renamed {i}"})
    stack.start_worker()
    expected = events_of(stack, org["id"], start, ("organization", "role"))
    assert len(expected) == 7 + 4
    wait_until(lambda: len(receiver.accepted()) >= len(expected), timeout=40,
               message=f"every event delivered ({stack.log.read_text()[-600:]})")
    accepted = receiver.accepted()
    assert all(r.signed for r in receiver.requests if r.path == "/hook")
    assert sorted(r.body["id"] for r in accepted) == sorted(str(e.envelope.event_id)
                                                            for e in expected)
    by_stream: dict[str, list[int]] = {}
    for r in accepted:
        by_stream.setdefault(r.body["streamId"], []).append(r.body["streamVersion"])
    assert all(v == sorted(v) for v in by_stream.values()), by_stream
    assert by_stream[org["id"]] == sorted(by_stream[org["id"]])
    ids = [r.headers["webhook-id"] for r in receiver.requests if r.path == "/hook"]
    assert len(ids) > len(set(ids)), "the 500 and the time-out were retried with the same id"


def test_deliveries_list_their_attempts_and_filter_by_status(
        stack: Stack, api: TestClient[Any], receiver: Receiver) -> None:
    org = new_org(api)
    receiver.script["/flaky"] = [503]
    hook = endpoint(api, receiver, org["id"], "/flaky", ["organization.*"])
    renamed = api.patch(f"/v1/organizations/{org['id']}", json={"name": "Flaky"}).json()

    def delivered() -> list[dict[str, Any]]:
        return api.get("/v1/webhook-deliveries", params={
            "organization_id": org["id"], "endpoint_id": hook["id"], "status": "delivered",
            "min_position": renamed["position"]}).json()["data"]

    wait_until(delivered, timeout=20, message="a delivered delivery")
    one = api.get(f"/v1/webhook-deliveries/{delivered()[0]['id']}").json()
    assert [a["responseCode"] for a in one["attempts"]] == [503, 200]
    assert (one["status"], one["attemptNumber"], one["streamVersion"]) == ("delivered", 2, 2)
    event = api.get(f"/v1/webhook-events/{one['eventId']}")
    assert event.status_code == 200, event.text
    sent = event.json()
    assert (sent["id"], sent["type"], sent["streamVersion"]) == (
        one["eventId"], "organization.Renamed", 2)
    assert sent["data"]["name"] == "Flaky"
    assert [d["id"] for d in sent["deliveries"]] == [one["id"]]
    assert [a["responseCode"] for a in sent["deliveries"][0]["attempts"]] == [503, 200]
    assert api.get(f"/v1/webhook-events/{uuid.uuid4()}").status_code == 404


def test_a_410_disables_the_endpoint_and_a_redirect_is_not_followed(
        stack: Stack, api: TestClient[Any], receiver: Receiver) -> None:
    org = new_org(api)
    receiver.script["/gone"] = [410]
    receiver.script["/moved"] = [302, 302, 302, 302]
    gone = endpoint(api, receiver, org["id"], "/gone", ["organization.*"])
    endpoint(api, receiver, org["id"], "/moved", ["organization.*"])
    api.patch(f"/v1/organizations/{org['id']}", json={"name": "Gone"})

    def disabled() -> bool:
        seen = api.get(f"/v1/webhook-endpoints/{gone['id']}").json()
        return seen.get("disabledReason") == "gone" and seen.get("isActive") is False

    wait_until(disabled, timeout=20, message="the endpoint disabled by its 410")
    wait_until(lambda: api.get("/v1/webhook-deliveries", params={
        "organization_id": org["id"], "status": "abandoned"}).json()["data"], timeout=20,
        message="the redirected delivery abandoned")
    assert not [r for r in receiver.requests if r.path == "/evil"]


def test_a_replay_sends_delivered_events_again_under_their_webhook_ids(
        stack: Stack, api: TestClient[Any], receiver: Receiver) -> None:
    org = new_org(api)
    hook = endpoint(api, receiver, org["id"], "/replayed", ["organization.*"])
    for i in range(3):
        api.patch(f"/v1/organizations/{org['id']}", json={"name": f"R {i}"})
    wait_until(lambda: len(receiver.accepted("/replayed")) == 3, timeout=20,
               message="three deliveries")
    first = {r.headers["webhook-id"] for r in receiver.accepted("/replayed")}
    replay = api.post(f"/v1/webhook-endpoints/{hook['id']}/replay", json={"fromPosition": 0})
    assert replay.status_code == 202, replay.text
    wait_until(lambda: sum(r.path == "/replayed" for r in receiver.requests) >= 7, timeout=20,
               message="the replay (the organization's creation too)")
    assert first <= {r.headers["webhook-id"] for r in receiver.requests if r.path == "/replayed"}
    test = api.post(f"/v1/webhook-endpoints/{hook['id']}/test")
    assert test.status_code == 202
    wait_until(lambda: any(r.body["type"] == "webhook.test" for r in receiver.requests),
               timeout=20, message="the test event")


def test_the_worker_serves_health_and_its_queue_depth(stack: Stack) -> None:
    base = f"http://127.0.0.1:{stack.port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, timeout=30, message="webhooks healthy")
    except AssertionError:
        raise AssertionError(httpx.get(base + "/health").text) from None
    report = httpx.get(f"{base}/health", timeout=2).json()
    assert report["service"] == "webhooks"
    assert report["fanout"]["projections"][0]["projection"] == "webhook_deliveries"
    # The scrape asks the broker for consumer lag: seconds on a loaded machine.
    metrics = httpx.get(f"{base}/metrics", timeout=15).text
    assert "chronicle_webhook_queue_depth " in metrics
    assert 'chronicle_webhook_attempts_total{outcome="delivered"}' in metrics
