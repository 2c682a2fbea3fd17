"""The HTTP API in-process, on the real services: commands, reads, history, bad input, auth."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from infra.eventstore import EventStore
from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.integration.conftest import AUTH


def create(client: TestClient[Any], **body: Any) -> dict[str, Any]:
    body = {"name": "Acme", "slug": f"acme-{uuid.uuid4().hex[:10]}", **body}
    response = client.post("/v1/organizations", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def read(client: TestClient[Any], created: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/organizations/{created['id']}",
                          params={"min_position": created["position"], **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["requestId"] == response.headers["x-request-id"]
    assert error["timestamp"]
    if field is not None:
        assert field in [d["field"] for d in error["details"]], error


def test_a_created_organization_is_readable_with_min_position(client: TestClient[Any]) -> None:
    created = create(client, plan="starter", settings={"timezone": "Asia/Tokyo"})
    assert created["version"] == 1
    assert created["position"] > 0
    org = read(client, created)
    assert org["plan"] == "starter"
    assert org["status"] == "active"
    assert org["settings"]["timezone"] == "Asia/Tokyo"
    assert org["settings"]["security"]["sessionTimeout"] == 60


def test_patch_renames_changes_plan_and_merges_settings_in_one_append(
        client: TestClient[Any], store: EventStore) -> None:
    created = create(client, settings={"ipWhitelist": ["10.0.0.0/8"]})
    response = client.patch(f"/v1/organizations/{created['id']}", json={
        "name": "Acme 2", "plan": "enterprise",
        "settings": {"security": {"sessionTimeout": 15}}})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 4
    org = read(client, response.json())
    assert (org["name"], org["plan"]) == ("Acme 2", "enterprise")
    assert org["settings"]["ipWhitelist"] == ["10.0.0.0/8"]
    assert org["settings"]["security"] == {
        "requireHttps": True, "allowedOrigins": [], "sessionTimeout": 15}
    positions = {e.request_id for e in store.load(uuid.UUID(created["id"]))[1:]}
    assert len(positions) == 1


def test_suspend_reactivate_and_delete_move_the_status(client: TestClient[Any]) -> None:
    created = create(client)
    path = f"/v1/organizations/{created['id']}"
    assert client.post(f"{path}/suspend", json={"reason": "unpaid"}).status_code == 200
    assert_error(client.post(f"{path}/suspend"), 409, "invalid_state")
    reactivated = client.post(f"{path}/reactivate")
    assert read(client, reactivated.json())["status"] == "active"
    deleted = client.delete(path)
    org = read(client, deleted.json())
    assert org["status"] == "deleted"
    assert org["deletedAt"]
    assert_error(client.patch(path, json={"name": "x"}), 409, "invalid_state")


def test_a_taken_slug_gets_409_and_nothing_is_written(client: TestClient[Any],
                                                      store: EventStore) -> None:
    created = create(client)
    slug = read(client, created)["slug"]
    head = store.head()
    assert_error(client.post("/v1/organizations", json={"name": "B", "slug": slug}),
                 409, "slug_taken", "slug")
    assert store.read(head, 10) == []


def test_if_match_with_a_stale_version_gets_412_precondition_failed(client: TestClient[Any]) -> None:
    created = create(client)
    path = f"/v1/organizations/{created['id']}"
    ok = client.patch(path, json={"name": "v2"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    assert ok.headers["etag"] == '"2"'
    assert_error(client.patch(path, json={"name": "v3"}, headers={"If-Match": '"1"'}),
                 412, "version_conflict")
    assert_error(client.patch(path, json={"name": "v3"}, headers={"If-Match": "abc"}),
                 400, "invalid_parameter")


def test_history_and_as_of_return_the_past(client: TestClient[Any]) -> None:
    created = create(client, name="First")
    path = f"/v1/organizations/{created['id']}"
    client.patch(path, json={"name": "Second"})
    client.patch(path, json={"plan": "professional"})
    history = client.get(f"{path}/history").json()["data"]
    assert [h["type"] for h in history] == [
        "organization.Created", "organization.Renamed", "organization.PlanChanged"]
    assert history[1]["data"] == {"name": "Second", "previous_name": "First"}
    assert history[0]["actor"]["kind"] == "operator"
    as_v1 = client.get(path, params={"as_of": 1}).json()
    assert (as_v1["name"], as_v1["version"]) == ("First", 1)
    at_rename = client.get(path, params={"as_of": history[1]["occurredAt"]}).json()
    assert (at_rename["name"], at_rename["plan"]) == ("Second", "free")
    before = client.get(path, params={"as_of": "2000-01-01T00:00:00Z"})
    assert_error(before, 404, "not_found")


def test_the_list_pages_forward_and_back_with_cursors(client: TestClient[Any]) -> None:
    last = [create(client, name=f"page {i}") for i in range(5)][-1]
    first = client.get("/v1/organizations",
                       params={"limit": 2, "min_position": last["position"]}).json()
    assert len(first["data"]) == 2
    assert first["pagination"]["hasNext"]
    assert first["pagination"]["total"] >= 5
    assert not first["pagination"]["hasPrev"]
    seen = [o["id"] for o in first["data"]]
    page = first
    while page["pagination"]["hasNext"]:
        page = client.get("/v1/organizations", params={
            "limit": 2, "cursor": page["pagination"]["nextCursor"]}).json()
        seen += [o["id"] for o in page["data"]]
    assert len(seen) == len(set(seen)) == first["pagination"]["total"]
    back = client.get("/v1/organizations", params={
        "limit": 2, "before": page["pagination"]["prevCursor"]}).json()
    assert [o["id"] for o in back["data"]] == seen[-len(page["data"]) - 2:-len(page["data"])]


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    (b"{bad", 400, "malformed_json", None),
    (b"", 400, "missing_body", None),
    (b"[]", 422, "validation_failed", None),
    (b'{"name":"x","slug":"x","extra":1}', 422, "validation_failed", "extra"),
    (b'{"name":5,"slug":"x"}', 422, "validation_failed", "name"),
    (b'{"name":"x","slug":"Not OK"}', 422, "validation_failed", "slug"),
    (b'{"name":"x","slug":"x","plan":"gold"}', 422, "validation_failed", "plan"),
    (b'{"name":"x","slug":"x","settings":{"ipWhitelist":["nope"]}}', 422, "invalid_value",
     "settings.ipWhitelist[0]"),
    (b'{"name":"x","slug":"x","settings":{"security":{"bogus":1}}}', 422,
     "validation_failed", None),
    (b'{"name":"   ","slug":"x"}', 422, "invalid_value", "name"),
])
def test_bad_bodies_get_a_structured_4xx_and_write_nothing(
        client: TestClient[Any], store: EventStore, body: bytes, status: int, code: str,
        field: str | None) -> None:
    head = store.head()
    response = client.post("/v1/organizations", content=body,
                           headers={"Content-Type": "application/json"})
    assert_error(response, status, code, field)
    assert store.read(head, 10) == []


def test_an_oversized_body_gets_413(client: TestClient[Any], settings: Settings) -> None:
    body = b'{"name":"' + b"a" * settings.max_body_bytes + b'","slug":"big"}'
    assert_error(client.post("/v1/organizations", content=body), 413, "payload_too_large")


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/v1/organizations/not-a-uuid", 404, "not_found"),
    (f"/v1/organizations/{uuid.uuid4()}", 404, "not_found"),
    ("/v1/organizations?limit=0", 400, "invalid_parameter"),
    ("/v1/organizations?limit=abc", 400, "invalid_parameter"),
    ("/v1/organizations?cursor=!!!", 400, "invalid_parameter"),
    ("/v1/organizations?status=gone", 400, "invalid_parameter"),
    ("/v1/organizations?min_position=-1", 400, "invalid_parameter"),
    (f"/v1/organizations/{uuid.uuid4()}?as_of=yesterday", 400, "invalid_parameter"),
    (f"/v1/organizations/{uuid.uuid4()}/history", 404, "not_found"),
])
def test_bad_ids_and_parameters_get_a_structured_4xx(
        client: TestClient[Any], path: str, status: int, code: str) -> None:
    assert_error(client.get(path), status, code)


def test_commands_on_an_unknown_organization_get_404(client: TestClient[Any]) -> None:
    assert_error(client.patch(f"/v1/organizations/{uuid.uuid4()}", json={"name": "x"}),
                 404, "not_found")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": f"Basic {ADMIN_TOKEN}"}])
def test_every_v1_route_needs_the_operator_token(client: TestClient[Any],
                                                 headers: dict[str, str]) -> None:
    client.headers.pop("Authorization", None)
    try:
        for method, path in [("GET", "/v1/organizations"), ("POST", "/v1/organizations"),
                             ("GET", f"/v1/organizations/{uuid.uuid4()}")]:
            response = client.request(method, path, headers=headers, json={})
            assert response.status_code == 401
            assert response.json()["error"]["code"] in {"unauthorized", "invalid_token"}
    finally:
        client.headers.update(AUTH)


def test_a_callers_request_id_is_echoed(client: TestClient[Any]) -> None:
    response = client.get("/v1/nowhere", headers={"X-Request-Id": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    assert response.json()["error"]["requestId"] == "trace-123"


def test_projection_lag_is_head_minus_checkpoint_and_drains_to_zero(
        client: TestClient[Any], store: EventStore) -> None:
    from projections.registry import OWN_PROCESS, PROJECTIONS
    from tests.conftest import wait_until

    create(client)

    def drained() -> bool:
        report = client.get("/v1/projections").json()
        return report["head"] >= store.head() and all(
            p["lag"] == 0 and p["checkpoint"] == report["head"] for p in report["data"])

    wait_until(drained, message="projections drained")
    names = {p["projection"] for p in client.get("/v1/projections").json()["data"]}
    assert names == {*PROJECTIONS, *OWN_PROCESS}  # the webhook fan-out's own process too


def test_readiness_reports_every_dependency(client: TestClient[Any]) -> None:
    from projections.registry import PROJECTIONS

    body = client.get("/health/ready").json()
    assert body["status"] == "healthy"
    assert set(body["details"]) == {"database", "redis", "kafka", "clickhouse", "pipeline"}
    assert {s["name"] for s in body["pipeline"]} == {"relay", *PROJECTIONS}
    assert all(d["status"] == "healthy" for d in body["details"].values())
    assert body["uptime"] >= 0
    assert body["version"]
    assert client.get("/health/live").json() == {"status": "healthy"}
