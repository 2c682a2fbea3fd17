"""Webhook endpoints over HTTP: the secret is shown once and never stored in the clear, the
read model follows every change, and bad input (a private destination, a bad filter) is a 422
that writes nothing."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from litestar.testing import TestClient

from infra.eventstore import EventStore
from tests.integration.test_api_keys import new_org

PUBLIC = "https://93.184.216.34/hooks"  # a public literal: no DNS needed, never contacted here


def register(client: TestClient[Any], org_id: str, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/webhook-endpoints", json={
        "url": PUBLIC, "eventTypes": ["resource.*"], "organizationId": org_id, **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def read(client: TestClient[Any], endpoint_id: str, position: int | None) -> Any:
    return client.get(f"/v1/webhook-endpoints/{endpoint_id}", params={"min_position": position})


def test_registering_shows_a_standard_secret_once_and_the_store_never_holds_it(
        client: TestClient[Any], store: EventStore) -> None:
    org = new_org(client)
    created = register(client, org["id"], description="orders", metadata={"team": "a"})
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    stored = b"".join(e.event.sealed_secret.encode() + repr(e).encode()
                      for e in store.load(uuid.UUID(created["id"])))
    assert secret.encode() not in stored
    assert secret[6:].encode() not in stored
    seen = read(client, created["id"], created["position"]).json()
    assert (seen["url"], seen["eventTypes"], seen["isActive"], seen["metadata"]) == (
        PUBLIC, ["resource.*"], True, {"team": "a"})
    assert "secret" not in seen
    assert created["id"] in client.get("/v1/webhook-endpoints", params={
        "organization_id": org["id"]}).text


def test_changes_disabling_rolling_and_deleting_reach_the_read_model(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    created = register(client, org["id"])
    path = f"/v1/webhook-endpoints/{created['id']}"
    changed = client.patch(path, json={"eventTypes": ["*"], "active": False}).json()
    seen = read(client, created["id"], changed["position"]).json()
    assert (seen["eventTypes"], seen["isActive"], seen["disabledReason"]) == (["*"], False, "manual")
    rolled = client.post(f"{path}/roll-secret", json={"graceSeconds": 60}).json()
    assert rolled["secret"].startswith("whsec_")
    assert rolled["secret"] != created["secret"]
    assert read(client, created["id"], rolled["position"]).json()["secretRolledAt"]
    enabled = client.patch(path, json={"active": True}).json()
    assert read(client, created["id"], enabled["position"]).json()["isActive"] is True
    gone = client.delete(path).json()
    assert read(client, created["id"], gone["position"]).status_code == 404
    assert client.post(f"{path}/test").status_code == 404


def test_a_private_destination_or_a_bad_filter_is_refused_and_nothing_is_written(
        client: TestClient[Any], store: EventStore) -> None:
    org = new_org(client)
    head = store.head()
    for url, reason in (("http://127.0.0.1:9/x", "webhook_url_forbidden"),
                        ("http://2130706433/", "webhook_url_forbidden"),
                        ("http://[::ffff:10.0.0.1]/", "webhook_url_forbidden"),
                        ("http://169.254.169.254/latest", "webhook_url_forbidden"),
                        ("ftp://93.184.216.34/", "webhook_url_invalid")):
        response = client.post("/v1/webhook-endpoints", json={
            "url": url, "eventTypes": ["*"], "organizationId": org["id"]})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["code"] == reason, response.text
    bad = client.post("/v1/webhook-endpoints", json={
        "url": PUBLIC, "eventTypes": ["Resource"], "organizationId": org["id"]})
    assert bad.status_code == 422, bad.text
    assert store.head() == head


def test_a_replay_names_exactly_one_starting_point(client: TestClient[Any]) -> None:
    org = new_org(client)
    created = register(client, org["id"])
    path = f"/v1/webhook-endpoints/{created['id']}/replay"
    assert client.post(path, json={}).status_code == 422
    assert client.post(path, json={"fromPosition": 1, "fromTime": "2026-01-01T00:00:00Z"}
                       ).status_code == 422
    assert client.post(path, json={"fromPosition": 0}).status_code == 202
