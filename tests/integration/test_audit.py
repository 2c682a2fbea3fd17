"""The audit trail over HTTP with the real projector: entries with their diff and origin,
denied requests, filters, paging, exports, the tenant wall and the append-only table."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from infra.settings import Settings
from tests.conftest import wait_until
from tests.integration.test_api_keys import as_key, issue, new_org

BROWSER = {"User-Agent": "audit-test/1.0", "Origin": "https://app.example.com"}


def trail(client: TestClient[Any], org: str, position: int | None = None,
          **params: Any) -> dict[str, Any]:
    response = client.get("/v1/audit", params={
        "organization_id": org, **({"min_position": position} if position else {}), **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def renamed(client: TestClient[Any]) -> tuple[str, int]:
    org = new_org(client)["id"]
    changed = client.patch(f"/v1/organizations/{org}", json={"name": "Renamed"},
                           headers={**BROWSER, "X-Request-Id": f"req-audit-{org[:8]}"})
    assert changed.status_code == 200, changed.text
    return org, changed.json()["position"]


def test_each_event_is_an_entry_with_its_actor_diff_and_request_origin(
        client: TestClient[Any]) -> None:
    org, position = renamed(client)
    entries = trail(client, org, position)["data"]
    actions = [(e["resource"], e["action"]) for e in entries]
    assert ("organizations", "create") in actions
    rename = next(e for e in entries if e["action"] == "rename")
    assert rename["oldValues"] == {"name": "Tenant"}
    assert rename["newValues"] == {"name": "Renamed"}
    assert rename["actor"] == {"kind": "operator", "id": "platform-operator"}
    assert rename["resourceId"] == org
    assert rename["metadata"]["userAgent"] == "audit-test/1.0"
    assert rename["metadata"]["requestId"] == f"req-audit-{org[:8]}"
    assert rename["metadata"]["source"] == "web"
    assert rename["metadata"]["ipAddress"]
    assert rename["eventType"] == "organization.Renamed"


def test_a_denied_request_is_an_entry_of_the_callers_organization(
        client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    key = issue(client, org, permissions=[{"resource": "users", "actions": ["read"]}])
    denied = client.get("/v1/audit", headers={"Authorization": f"Bearer {key}",
                                              "User-Agent": "denied/1"})
    assert denied.status_code == 403
    wait_until(lambda: trail(client, org, action="deny")["data"], message="the denial entry")
    entry = trail(client, org, action="deny")["data"][0]
    assert (entry["resource"], entry["actor"]["kind"]) == ("access", "api_key")
    assert entry["newValues"]["path"] == "/v1/audit"
    assert entry["newValues"]["status"] == 403
    assert entry["metadata"]["userAgent"] == "denied/1"


def test_filters_and_the_cursor_page_through_the_trail_in_store_order(
        client: TestClient[Any]) -> None:
    org, position = renamed(client)
    everything = trail(client, org, position)["data"]
    positions = [e["position"] for e in everything]
    assert positions == sorted(positions)
    first = trail(client, org, limit=1)
    assert first["pagination"]["hasNext"]
    assert first["pagination"]["total"] == len(everything)
    second = trail(client, org, limit=1, cursor=first["pagination"]["nextCursor"])
    assert second["data"][0]["position"] == positions[1]
    assert [e["action"] for e in trail(client, org, action="rename")["data"]] == ["rename"]
    assert all(e["resourceId"] == org for e in trail(
        client, org, resource="organizations", resource_id=org)["data"])
    assert trail(client, org, actor="platform-operator")["data"]
    assert not trail(client, org, actor="nobody")["data"]
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert not trail(client, org, **{"from": later})["data"]
    assert len(trail(client, org, to=later)["data"]) == len(everything)
    naive = client.get("/v1/audit", params={"organization_id": org, "from": "2026-12-01T09:00"})
    assert naive.status_code == 400
    assert naive.json()["error"]["details"][0]["field"] == "from"


def test_the_export_streams_every_matching_entry_as_ndjson_and_csv(
        client: TestClient[Any]) -> None:
    org, position = renamed(client)
    listed = trail(client, org, position)["data"]
    lines = client.get("/v1/audit/export", params={"organization_id": org, "format": "ndjson"})
    assert lines.status_code == 200, lines.text
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    assert [json.loads(line)["id"] for line in lines.text.splitlines()] == [
        e["id"] for e in listed]
    table = client.get("/v1/audit/export", params={"organization_id": org, "format": "csv"})
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["id"] for r in rows] == [e["id"] for e in listed]
    rename = next(r for r in rows if r["action"] == "rename")
    assert json.loads(rename["newValues"]) == {"name": "Renamed"}
    bad = client.get("/v1/audit/export", params={"organization_id": org, "format": "xml"})
    assert bad.status_code == 400


def test_the_csv_export_neutralises_formula_cells_and_the_ndjson_keeps_them(
        client: TestClient[Any]) -> None:
    org = new_org(client)["id"]
    agents = ["=cmd|'/C calc'!A0", "+1+1", "-2+3", "@SUM(A1)"]
    position = 0
    for n, agent in enumerate(agents):
        changed = client.patch(f"/v1/organizations/{org}", json={"name": f"Name {n}"},
                               headers={"User-Agent": agent})
        assert changed.status_code == 200, changed.text
        position = changed.json()["position"]
    trail(client, org, position)
    table = client.get("/v1/audit/export", params={"organization_id": org, "format": "csv"})
    cells = [r["userAgent"] for r in csv.DictReader(io.StringIO(table.text))
             if r["action"] == "rename"]
    assert cells == ["'" + agent for agent in agents]
    lines = client.get("/v1/audit/export", params={"organization_id": org, "format": "ndjson"})
    stored = [json.loads(line) for line in lines.text.splitlines()]
    assert [e["metadata"]["userAgent"] for e in stored if e["action"] == "rename"] == agents


def test_an_organization_reads_only_its_own_trail(client: TestClient[Any]) -> None:
    mine, position = renamed(client)
    theirs, _ = renamed(client)
    key = issue(client, mine, permissions=[{"resource": "audit", "actions": ["read"]}])
    own = as_key(client, key, "GET", "/v1/audit", params={"min_position": position})
    assert own.status_code == 200, own.text
    assert {e["organizationId"] for e in own.json()["data"]} == {mine}
    other = as_key(client, key, "GET", "/v1/audit", params={"organization_id": theirs})
    assert other.status_code == 404
    exported = as_key(client, key, "GET", "/v1/audit/export")
    assert {json.loads(line)["organizationId"] for line in exported.text.splitlines()} == {mine}


def test_no_route_changes_an_entry_and_the_table_refuses_it(
        client: TestClient[Any], settings: Settings) -> None:
    org, position = renamed(client)
    entry = trail(client, org, position)["data"][0]
    for method in ("PATCH", "PUT", "DELETE"):
        assert client.request(method, "/v1/audit").status_code == 405
        assert client.request(method, f"/v1/audit/{entry['id']}").status_code in (404, 405)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for statement in ("UPDATE audit_entries SET action = 'x' WHERE id = %s",
                          "DELETE FROM audit_entries WHERE id = %s"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement, (uuid.UUID(entry["id"]),))


def test_the_chain_verifies_over_http_for_the_operator_and_the_organization(
        client: TestClient[Any]) -> None:
    org, position = renamed(client)
    chained = client.get("/v1/events", params={"organization_id": org,
                                               "min_position": position})
    assert chained.status_code == 200, chained.text
    checked = client.get("/v1/audit/verify", params={"organization_id": org})
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["ok"] is True
    assert body["organizations"][0]["break"] is None
    assert body["organizations"][0]["events"] >= 3
    key = issue(client, org, permissions=[{"resource": "audit", "actions": ["read"]}])
    own = client.get("/v1/audit/verify", headers={"Authorization": f"Bearer {key}"})
    assert own.status_code == 200, own.text
    assert [r["organizationId"] for r in own.json()["organizations"]] == [org]
