"""End to end over HTTP: the real API, relay and projector processes on the real services."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from infra import clickhouse
from infra.settings import Settings
from projections.status import caught_up
from tests.conftest import ADMIN_TOKEN, running_stack, wait_until


@pytest.fixture
def stack(isolated: Settings, tmp_path: Path) -> Iterator[tuple[Settings, httpx.Client]]:
    with running_stack(isolated, tmp_path / "stack.log") as url, httpx.Client(
            base_url=url, timeout=20,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        yield isolated, client


def test_create_then_read_your_write_then_the_clickhouse_row(
        stack: tuple[Settings, httpx.Client]) -> None:
    settings, client = stack
    slug = f"e2e-{uuid.uuid4().hex[:8]}"
    created = client.post("/v1/organizations", json={"name": "End To End", "slug": slug})
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/v1/organizations/{body['id']}"

    read = client.get(f"/v1/organizations/{body['id']}",
                      params={"min_position": body["position"]})
    assert read.status_code == 200, read.text
    assert (read.json()["slug"], read.json()["version"]) == (slug, 1)

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        wait_until(lambda: caught_up(conn, "clickhouse_events") >= body["position"],
                   message="clickhouse projection")
    ch = clickhouse.client(settings)
    rows = ch.query(
        "SELECT organization_id, event_type, version, actor_kind, payload FROM events FINAL"
        " WHERE stream_id = {id:UUID}", parameters={"id": body["id"]}).result_rows
    ch.close()
    assert len(rows) == 1
    organization_id, event_type, version, actor_kind, payload = rows[0]
    assert (str(organization_id), event_type, version) == (body["id"], "organization.Created", 1)
    assert actor_kind == "operator"
    assert json.loads(payload)["slug"] == slug


def test_a_patch_is_visible_to_the_next_read_and_in_the_history(
        stack: tuple[Settings, httpx.Client]) -> None:
    _settings, client = stack
    created = client.post("/v1/organizations", json={
        "name": "Before", "slug": f"e2e-{uuid.uuid4().hex[:8]}"}).json()
    path = f"/v1/organizations/{created['id']}"
    patched = client.patch(path, json={"name": "After"}, headers={"If-Match": '"1"'}).json()
    read = client.get(path, params={"min_position": patched["position"]}).json()
    assert (read["name"], read["version"]) == ("After", 2)
    history = client.get(f"{path}/history").json()["data"]
    assert [h["data"].get("name") for h in history] == ["Before", "After"]
