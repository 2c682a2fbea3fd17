"""The analysts' ClickHouse `resources` table, fed by its projector from the real pipeline:
the latest state per resource, by version, after creates, patches and a delete."""

from __future__ import annotations

import json
from typing import Any

from litestar.testing import TestClient

from infra import clickhouse
from infra.settings import Settings
from tests.conftest import wait_until
from tests.integration.test_resources import MERGE, create, with_type


def _latest(settings: Settings, rid: str) -> dict[str, Any] | None:
    ch = clickhouse.client(settings)
    try:
        found = ch.query("SELECT * FROM resources FINAL WHERE id = {r:UUID}",
                         parameters={"r": rid})
        rows = [dict(zip(found.column_names, r, strict=True)) for r in found.result_rows]
        return rows[0] if rows else None
    finally:
        ch.close()


def test_a_resource_reaches_clickhouse_as_its_latest_version(client: TestClient[Any],
                                                             settings: Settings) -> None:
    org = with_type(client)
    params = {"organization_id": org}
    rid = create(client, org, {"data": {"name": "Maya", "legs": 6}, "metadata": {
        "tags": ["insect"], "labels": {"colour": "yellow"}}}).json()["id"]
    patched = client.patch(f"/v1/resources/bees/{rid}", params=params, headers=MERGE,
                           content=json.dumps({"data": {"legs": 5}}))
    assert patched.status_code == 200, patched.text
    assert client.delete(f"/v1/resources/bees/{rid}", params=params).status_code == 200
    wait_until(lambda: (_latest(settings, rid) or {}).get("version") == 3,
               message="the deleted resource in ClickHouse")
    row = _latest(settings, rid)
    assert row is not None
    assert (str(row["organization_id"]), row["type"], row["status"]) == (org, "bees", "deleted")
    assert json.loads(row["data"]) == {"name": "Maya", "legs": 5}
    assert (row["tags"], row["labels"]) == (["insect"], {"colour": "yellow"})
    assert row["deleted_at"] is not None
    assert row["created_by"] == row["updated_by"] == "operator:platform-operator"
