"""Resource queries over HTTP: hostile strings in every query parameter, behind the tenant
wall; select; the NDJSON export of many rows, read line by line."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import psycopg
import pytest
from litestar.testing import TestClient

from infra.settings import Settings
from tests.integration.test_api_keys import as_key, issue, new_org

SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "s": {"type": "string"}, "n": {"type": "number"}}}
HOSTILE = ["'", "' OR '1'='1", "\"; DROP TABLE resources; --", "%s", "%(x)s", "\\", "${1}",
           "{}", "[]", "null", "a.b.c", "1e999", "-0", "NaN", "🐝", "') OR true --", ",", "((",
           "in.(", "eq.", "eq.'", "*", "data", "data.", "..", "$.s", "labels.", "x" * 600,
           "exists.true) OR (true", "asc", "id.asc;", "relationships.parent'--"]


def _typed(client: TestClient[Any], org: str) -> None:
    made = client.post("/v1/resource-types", json={"name": "things", "schema": SCHEMA,
                                                   "organizationId": org})
    assert made.status_code == 201, made.text
    seen = client.get("/v1/resource-types/things", params={
        "organization_id": org, "min_position": made.json()["position"]})
    assert seen.status_code == 200, seen.text


def _create(client: TestClient[Any], org: str, data: dict[str, Any]) -> dict[str, Any]:
    made = client.post("/v1/resources/things", params={"organization_id": org},
                       json={"data": data, "metadata": {"labels": {"k": data.get("s", "")}}})
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def tenants(client: TestClient[Any]) -> tuple[str, str, set[str]]:
    """Organization A (its key, its resources' ids) and B, whose resources hold the hostile
    strings as data."""
    a, b = new_org(client)["id"], new_org(client)["id"]
    _typed(client, a)
    _typed(client, b)
    mine = {_create(client, a, {"s": s, "n": i})["id"] for i, s in enumerate(["x", "'", "y"])}
    last = 0
    for h in HOSTILE[:10]:
        last = _create(client, b, {"s": h, "n": 1})["position"]
    client.get("/v1/resources/things", params={"organization_id": b, "min_position": last})
    return issue(client, a), b, mine


def _requests(h: str) -> list[dict[str, str]]:
    return [{"data.s": f"eq.{h}"}, {"data.s": f"in.({h})"}, {"data.s": f"prefix.{h}"},
            {"data.s": f"contains.{h}"}, {"data.n": f"gt.{h}"}, {"data.s": h},
            {f"labels.{h}": "eq.x"}, {"labels.k": f"eq.{h}"}, {f"data.{h}": "eq.x"},
            {h: "eq.x"}, {"order": h}, {"order": f"data.{h}.asc"}, {"select": h},
            {"q": h}, {"cursor": h}, {"limit": h}, {"expand": h}, {"status": h},
            {"id": f"in.({h})"}, {"createdAt": f"gt.{h}"}, {"tags": f"contains.{h}"},
            {"organization_id": h}]


def test_hostile_strings_in_every_parameter_are_refused_or_data_never_another_tenants(
        client: TestClient[Any], tenants: tuple[str, str, set[str]]) -> None:
    key, other, mine = tenants
    for h in HOSTILE:
        for params in _requests(h):
            for path in ("/v1/resources/things", "/v1/resources/things/export"):
                answer = as_key(client, key, "GET", path, params=params)
                assert answer.status_code in (200, 400, 404), (params, answer.text)
                if answer.status_code != 200:
                    assert answer.json()["error"]["code"] in ("invalid_parameter", "not_found",
                                                     "validation_failed"), answer.text
                    continue
                rows = (answer.json()["data"] if "export" not in path else
                        [msgspec.json.decode(line) for line in answer.text.splitlines()])
                assert {r["id"] for r in rows if "id" in r} <= mine, (params, rows)
    seen = client.get("/v1/resources/things", params={"organization_id": other,
                                                      "data.s": "eq.' OR '1'='1"}).json()
    assert [r["data"]["s"] for r in seen["data"]] == ["' OR '1'='1"]


def test_a_bad_filter_names_its_parameter(client: TestClient[Any],
                                          tenants: tuple[str, str, set[str]]) -> None:
    key, _, _ = tenants
    answer = as_key(client, key, "GET", "/v1/resources/things", params={"data.n": "gt.ten"})
    assert answer.status_code == 400
    body = answer.json()["error"]
    assert (body["code"], body["reason"]) == ("invalid_parameter", "query_value_invalid")
    assert "data.n" in body["message"]


def test_select_returns_only_the_fields_asked_for(client: TestClient[Any],
                                                 tenants: tuple[str, str, set[str]]) -> None:
    key, _, _mine = tenants
    answer = as_key(client, key, "GET", "/v1/resources/things",
                    params={"select": "id,data", "order": "data.n.desc"})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["data"]
    assert all(set(r) == {"id", "data"} for r in rows)
    assert [r["data"]["n"] for r in rows] == [2, 1, 0]


def test_select_of_data_paths_nests_them_on_the_list_and_the_export(
        client: TestClient[Any], tenants: tuple[str, str, set[str]]) -> None:
    key, _, _mine = tenants
    wanted = {"select": "id,data.n,data.none.such", "order": "data.n.desc"}
    answer = as_key(client, key, "GET", "/v1/resources/things", params=wanted)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["data"]
    assert [(set(r), r["data"]) for r in rows] == [({"id", "data"}, {"n": n}) for n in (2, 1, 0)]
    with client.stream("GET", "/v1/resources/things/export", headers={
            "Authorization": f"Bearer {key}"}, params={**wanted, "select": "data.s"}) as out:
        assert out.status_code == 200
        lines = [msgspec.json.decode(line) for line in out.iter_lines() if line]
    assert lines == [{"data": {"s": s}} for s in ("y", "'", "x")]
    for bad in ("data.", "data.a..b", "data.0", ",".join(f"data.f{i}" for i in range(21))):
        refused = as_key(client, key, "GET", "/v1/resources/things", params={"select": bad})
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["reason"] == "query_select_invalid"


def test_an_export_streams_every_matching_row_as_ndjson(client: TestClient[Any],
                                                       settings: Settings) -> None:
    """5,000 rows written straight into the read model (as the projector writes them)."""
    org = new_org(client)["id"]
    _typed(client, org)
    with psycopg.connect(settings.database_url) as conn:
        conn.execute(
            "INSERT INTO resources (id, organization_id, type, type_version, status, data,"
            " tags, labels, annotations, relationships, checksum, size, created_by, updated_by,"
            " version, created_position, created_at, updated_at)"
            " SELECT gen_random_uuid(), %s, 'things', 1, 'active',"
            " jsonb_build_object('n', g, 's', 'row ' || g), '{}', '{}', '{}', '[]', '', 0,"
            " 'system:bench', 'system:bench', 1, 10000000 + g, now(), now()"
            " FROM generate_series(1, 5000) g", (uuid.UUID(org),))
    with client.stream("GET", "/v1/resources/things/export", params={
            "organization_id": org, "data.n": "gt.1000", "order": "data.n.desc",
            "select": "id,data"}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/x-ndjson")
        numbers = [msgspec.json.decode(line)["data"]["n"] for line in answer.iter_lines()
                   if line]
    assert numbers == list(range(5000, 1000, -1))
