"""Auditors' replay over HTTP: an organization's events in store order with filters and paging,
a stream's full history, a stream's state as of a version or a time, and the tenant wall."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from litestar.testing import TestClient

from tests.integration.test_api_keys import issue, new_org

REDACTED = "[REDACTED]"


def events(client: TestClient[Any], **params: Any) -> dict[str, Any]:
    response = client.get("/v1/events", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def renamed_twice(client: TestClient[Any]) -> tuple[str, int, datetime]:
    org = new_org(client)["id"]
    client.patch(f"/v1/organizations/{org}", json={"name": "Second"})
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    last = client.patch(f"/v1/organizations/{org}", json={"name": "Third"}).json()
    return org, last["position"], between


def test_an_organizations_events_list_in_store_order_with_filters_and_paging(
        client: TestClient[Any]) -> None:
    org, position, between = renamed_twice(client)
    listed = events(client, organization_id=org, min_position=position)["data"]
    positions = [e["position"] for e in listed]
    assert positions == sorted(positions)
    assert {e["organizationId"] for e in listed} == {org}
    renames = events(client, organization_id=org, type="*.Renamed")["data"]
    assert [e["data"]["name"] for e in renames] == ["Second", "Third"]
    assert {e["type"] for e in events(client, organization_id=org, type="organization.*")[
        "data"]} >= {"organization.Created", "organization.Renamed"}
    assert all(e["streamId"] == org for e in events(
        client, organization_id=org, stream_id=org)["data"])
    assert [e["data"]["name"] for e in events(
        client, organization_id=org, type="organization.Renamed",
        **{"from": between.isoformat()})["data"]] == ["Third"]
    assert events(client, organization_id=org, after=positions[0])["data"][0][
        "position"] == positions[1]
    first = events(client, organization_id=org, limit=1)
    assert first["pagination"]["total"] == len(listed)
    second = events(client, organization_id=org, limit=1,
                    cursor=first["pagination"]["nextCursor"])
    assert second["data"][0]["position"] == positions[1]
    assert not events(client, organization_id=org, actor="somebody-else")["data"]
    bad = client.get("/v1/events", params={"organization_id": org, "type": "a%b"})
    assert bad.status_code == 400


def test_a_streams_history_and_its_state_as_of_a_version_or_a_time(
        client: TestClient[Any]) -> None:
    org, _, between = renamed_twice(client)
    history = client.get(f"/v1/events/streams/{org}").json()["data"]
    assert [e["version"] for e in history] == list(range(1, len(history) + 1))
    assert history[-1]["data"]["name"] == "Third"
    first = client.get(f"/v1/events/streams/{org}/state", params={"version": 1}).json()
    assert (first["state"]["name"], first["version"], first["streamType"]) == (
        "Tenant", 1, "organization")
    then = client.get(f"/v1/events/streams/{org}/state",
                      params={"as_of": between.isoformat()}).json()
    assert then["state"]["name"] == "Second"
    now = client.get(f"/v1/events/streams/{org}/state").json()
    assert now["state"]["name"] == "Third"
    assert client.get(f"/v1/events/streams/{org}/state",
                      params={"as_of": "1999-01-01T00:00:00Z"}).status_code == 404


def test_a_streams_history_is_paged_by_version_with_a_cursor_or_after(
        client: TestClient[Any]) -> None:
    org, _, _ = renamed_twice(client)
    whole = client.get(f"/v1/events/streams/{org}").json()
    versions = [e["version"] for e in whole["data"]]
    assert whole["pagination"]["total"] == len(versions) >= 3
    assert not whole["pagination"]["hasNext"]
    first = client.get(f"/v1/events/streams/{org}", params={"limit": 1}).json()
    assert [e["version"] for e in first["data"]] == [1]
    assert first["pagination"]["hasNext"]
    assert first["pagination"]["totalPages"] == len(versions)
    seen = [1]
    cursor = first["pagination"]["nextCursor"]
    while cursor:
        page = client.get(f"/v1/events/streams/{org}", params={"limit": 1, "cursor": cursor})
        seen += [e["version"] for e in page.json()["data"]]
        cursor = page.json()["pagination"]["nextCursor"]
    assert seen == versions
    after = client.get(f"/v1/events/streams/{org}", params={"after": 2}).json()
    assert [e["version"] for e in after["data"]] == versions[2:]
    assert after["pagination"]["hasPrev"]
    for bad in ({"limit": 0}, {"limit": 10_000}, {"after": -1}, {"cursor": "nope"}):
        refused = client.get(f"/v1/events/streams/{org}", params=bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["error"]["code"]


def test_credentials_are_redacted_in_histories_and_states(client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    created = client.post("/v1/api-keys", json={
        "name": "k", "organizationId": org, "permissions": []}).json()
    history = client.get(f"/v1/events/streams/{created['id']}").json()["data"]
    assert history[0]["data"]["hashed_key"] == REDACTED  # the event's own field names
    state = client.get(f"/v1/events/streams/{created['id']}/state").json()["state"]
    assert state["hashed_key"] == REDACTED


def test_another_organizations_streams_and_events_are_not_found(
        client: TestClient[Any]) -> None:
    mine, position, _ = renamed_twice(client)
    theirs, _, _ = renamed_twice(client)
    key = issue(client, mine, permissions=[{"resource": "audit", "actions": ["read"]}])
    auth = {"Authorization": f"Bearer {key}"}
    own = client.get("/v1/events", params={"min_position": position}, headers=auth)
    assert own.status_code == 200, own.text
    assert {e["organizationId"] for e in own.json()["data"]} == {mine}
    for path in (f"/v1/events/streams/{theirs}", f"/v1/events/streams/{theirs}/state"):
        assert client.get(path, headers=auth).status_code == 404
    assert client.get(f"/v1/events/streams/{mine}/state", headers=auth).status_code == 200
    assert client.get("/v1/events", params={"organization_id": theirs},
                      headers=auth).status_code == 404
