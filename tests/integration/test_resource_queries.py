"""Resource queries on the real read model against a small reference evaluator written here in
plain Python: random filters, orders and page sizes, every page boundary walked forward and
back. The data is written once through the API and the projector."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from psycopg.rows import dict_row

from infra.settings import Settings
from projections.resource_indexes import index_name
from projections.resource_query import encode_cursor, page_sql, parse
from tests.integration.test_api_keys import new_org

SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "n": {"type": ["number", "null"]}, "s": {"type": "string"}, "b": {"type": "boolean"},
    "a": {"type": "array", "items": {"type": "string"}}}}
WORDS = ["", "a", "ab", "b", "ba", "bee", "B", "é"]
NUMBERS = [-3, -1, 0, 1, 1.5, 2, 3]
MISSING = object()


def _data(rng: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if rng.random() < 0.8:
        data["n"] = rng.choice([*NUMBERS, None])
    if rng.random() < 0.8:
        data["s"] = rng.choice(WORDS[1:])
    if rng.random() < 0.7:
        data["b"] = rng.random() < 0.5
    if rng.random() < 0.6:
        data["a"] = rng.sample(WORDS[1:5], rng.randint(0, 3))
    return data


@pytest.fixture(scope="module")
def world(client: TestClient[Any], settings: Settings) -> tuple[str, list[dict[str, Any]]]:
    """An organization with 30 resources of type `things`, some archived or deleted, and the
    rows the read model holds for them."""
    org = new_org(client)["id"]
    made = client.post("/v1/resource-types", json={"name": "things", "schema": SCHEMA,
                                                   "organizationId": org, "indexed": ["n"]})
    assert made.status_code == 201, made.text
    rng, params, position = random.Random(11), {"organization_id": org}, made.json()["position"]
    for i in range(30):
        body = {"data": _data(rng), "metadata": {
            "tags": rng.sample(["x", "y", "z"], rng.randint(0, 2)),
            "labels": {"k": rng.choice(WORDS[1:])} if rng.random() < 0.6 else {}}}
        created = client.post("/v1/resources/things", params=params, json=body)
        assert created.status_code == 201, created.text
        position = created.json()["position"]
        if i % 7 == 3:
            done = client.post(f"/v1/resources/things/{created.json()['id']}/archive",
                               params=params)
            position = done.json()["position"]
        if i % 9 == 4:
            done = client.delete(f"/v1/resources/things/{created.json()['id']}", params=params)
            position = done.json()["position"]
    seen = client.get("/v1/resources/things", params={**params, "min_position": position,
                                                      "status": "any"})
    assert seen.json()["pagination"]["total"] == 30, seen.text
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT * FROM resources WHERE organization_id = %s",
                            (org,)).fetchall()
    return org, rows


# The reference: jsonb's order (null < string < number < boolean), typed comparisons.
def _rank(v: Any) -> tuple[int, Any]:
    if v is MISSING or v is None:
        return 0, 0
    if isinstance(v, bool):
        return 3, v
    if isinstance(v, str):
        return 1, v
    if isinstance(v, int | float):
        return 2, v
    return 4, len(v)


def _kind(v: Any) -> str:
    return {0: "null", 1: "string", 2: "number", 3: "boolean"}.get(_rank(v)[0], "array")


def _value(row: dict[str, Any], name: str) -> Any:
    if name.startswith("data."):
        return row["data"].get(name[5:], MISSING)
    if name.startswith("labels."):
        return row["labels"].get(name[7:], MISSING)
    return row[{"createdAt": "created_at", "updatedAt": "updated_at"}.get(name, name)]


def _literal(name: str, text: str) -> Any:
    if name in ("data.n", "version"):
        return float(text) if "." in text else int(text)
    if name == "data.b":
        return text == "true"
    return text


def _same(v: Any, lit: Any) -> bool:
    return v is not MISSING and _kind(v) == _kind(lit) and v == lit


def _holds(row: dict[str, Any], name: str, raw: str) -> bool:
    op, _, text = raw.partition(".")
    v = _value(row, name)
    if name == "tags":
        listed = text[1:-1].split(",") if op == "in" else []
        return {"contains": text in v, "in": bool(set(listed) & set(v)),
                "exists": bool(v) == (text == "true")}[op]
    if op == "exists":
        return (v is not MISSING) == (text == "true")
    if op == "in":
        return any(_same(v, _literal(name, t)) for t in text[1:-1].split(","))
    if op == "contains":
        if name == "data.a":
            return isinstance(v, list) and text in v
        return isinstance(v, str) and text in v
    if op == "prefix":
        return isinstance(v, str) and v.startswith(text)
    lit = _literal(name, text)
    if op in ("eq", "ne"):
        return _same(v, lit) == (op == "eq")
    if v is MISSING or _kind(v) != _kind(lit):
        return False
    return {"gt": v > lit, "gte": v >= lit, "lt": v < lit, "lte": v <= lit}[op]


def reference(rows: list[dict[str, Any]], filters: list[tuple[str, str]],
              order: list[tuple[str, bool]]) -> list[Any]:
    if not any(n == "status" for n, _ in filters):
        filters = [*filters, ("status", "eq.active")]
    kept = [r for r in rows if all(_holds(r, n, raw) for n, raw in filters)]
    keys = [*order, ("id", order[-1][1])] if order else [("created_position", False)]
    for name, desc in reversed(keys):
        kept.sort(key=lambda r, n=name: _rank(_value(r, n)) if n.startswith(
            ("data.", "labels.")) else _value(r, n), reverse=desc)
    return [r["id"] for r in kept]


def _filter(name: str, ops: list[str], values: list[str]) -> st.SearchStrategy[tuple[str, str]]:
    def make(op: str, picked: list[str]) -> tuple[str, str]:
        if op == "in":
            return name, f"in.({','.join(picked)})"
        if op == "exists":
            return name, f"exists.{'true' if len(picked) % 2 else 'false'}"
        return name, f"{op}.{picked[0]}"

    return st.builds(make, st.sampled_from(ops),
                     st.lists(st.sampled_from(values), min_size=1, max_size=3))


RANGE = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "exists"]
TEXT = [*RANGE, "contains", "prefix"]
FILTERS = st.one_of(
    _filter("data.n", RANGE, [str(n) for n in NUMBERS]),
    _filter("data.s", TEXT, WORDS[1:]),
    _filter("data.b", ["eq", "ne", "gt", "gte", "lt", "lte", "exists"], ["true", "false"]),
    _filter("data.a", ["contains", "exists"], WORDS[1:5]),
    _filter("labels.k", TEXT, WORDS[1:]),
    _filter("tags", ["contains", "in", "exists"], ["x", "y", "z"]),
    _filter("status", ["eq", "ne", "in"], ["active", "archived", "deleted"]),
    _filter("version", ["eq", "gt", "lte"], ["1", "2"]),
)
ORDER = st.lists(st.tuples(st.sampled_from(
    ["data.n", "data.s", "data.b", "labels.k", "status", "version", "createdAt", "id"]),
    st.booleans()), max_size=2, unique_by=lambda k: k[0])


def _page(conn: psycopg.Connection[Any], org: str, items: list[tuple[str, str]],
          cursor: str | None = None) -> tuple[list[Any], bool, str]:
    query = parse([*items, *([("cursor", cursor)] if cursor else [])], SCHEMA)
    text, params = page_sql(query, org, "things")
    rows = conn.execute(text, params, prepare=False).fetchall()
    more, rows = len(rows) > query.limit, rows[:query.limit]
    if query.backward:
        rows.reverse()
    return [r["id"] for r in rows], more, query.signature


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filters=st.lists(FILTERS, max_size=3), order=ORDER, limit=st.integers(1, 7))
def test_every_page_both_ways_matches_the_reference_evaluator(
        world: tuple[str, list[dict[str, Any]]], settings: Settings,
        filters: list[tuple[str, str]], order: list[tuple[str, bool]], limit: int) -> None:
    org, rows = world
    expected = reference(rows, filters, order)
    items = [*filters, ("limit", str(limit))]
    if order:
        items.append(("order", ",".join(f"{n}.{'desc' if d else 'asc'}" for n, d in order)))
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        pages, cursor = [], None
        while True:
            ids, more, signature = _page(conn, org, items, cursor)
            assert len(ids) == limit or not more
            pages.append(ids)
            if not more or not ids:
                break
            cursor = encode_cursor(ids[-1], signature)
        assert [i for p in pages for i in p] == expected
        back: list[Any] = []
        if pages[-1]:
            cursor = encode_cursor(pages[-1][0], signature, backward=True)
            back = pages[-1]
            while True:
                ids, more, _ = _page(conn, org, items, cursor)
                back = ids + back
                if not more or not ids:
                    break
                cursor = encode_cursor(ids[0], signature, backward=True)
        assert back == expected


def test_a_search_finds_words_in_data_ranked(world: tuple[str, list[dict[str, Any]]],
                                             client: TestClient[Any]) -> None:
    org, rows = world
    found = client.get("/v1/resources/things", params={
        "organization_id": org, "q": "bee", "status": "any"}).json()
    expected = {str(r["id"]) for r in rows if r["data"].get("s") == "bee"
                or "bee" in (r["data"].get("a") or [])}
    assert {r["id"] for r in found["data"]} == expected


def test_a_ranked_search_pages_through_its_window_of_newest_matches_best_first(
        world: tuple[str, list[dict[str, Any]]], settings: Settings) -> None:
    """With a window of 3, the pages hold the 3 newest matches, once each, ranked (a match
    naming the word more often first), ties by id."""
    org, rows = world

    def times(r: dict[str, Any]) -> int:
        words = [r["data"].get("s") or "", *(r["data"].get("a") or [])]
        return sum(w.lower() == "b" for w in words)

    matches = [r for r in rows if times(r)]
    newest = sorted(matches, key=lambda r: r["created_position"], reverse=True)[:3]
    expected = sorted(newest, key=lambda r: (-times(r), r["id"]))
    items = [("q", "b"), ("status", "any"), ("limit", "1")]
    walked, cursor = [], None
    with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
        for _ in range(5):
            query = parse([*items, *([("cursor", cursor)] if cursor else [])], SCHEMA)
            text, params = page_sql(query, org, "things", window=3)
            found = conn.execute(text, params, prepare=False).fetchall()
            walked += [r["id"] for r in found[:1]]
            if len(found) <= 1:
                break
            cursor = encode_cursor(found[0]["id"], query.signature)
    assert len(matches) > 3
    assert walked == [r["id"] for r in expected]


def test_a_time_filter_takes_rfc_3339(world: tuple[str, list[dict[str, Any]]],
                                      client: TestClient[Any]) -> None:
    org, rows = world
    middle: datetime = sorted(r["created_at"] for r in rows)[15]
    found = client.get("/v1/resources/things", params={
        "organization_id": org, "status": "any", "createdAt": f"gte.{middle.isoformat()}",
        "limit": "100"}).json()
    assert len(found["data"]) == 15


def test_a_path_the_type_declares_indexed_has_the_expression_index_the_query_uses(
        world: tuple[str, list[dict[str, Any]]], settings: Settings) -> None:
    org, _ = world
    query = parse([("order", "data.n.asc"), ("data.n", "gt.0"), ("status", "any")], SCHEMA)
    text, params = page_sql(query, org, "things")
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN {text}", params,
                                                    prepare=False).fetchall())
    assert index_name("n") in plan, plan


def test_count_exact_adds_the_total_which_a_longer_query_otherwise_leaves_out(
        world: tuple[str, list[dict[str, Any]]], client: TestClient[Any]) -> None:
    org, _ = world
    params = {"organization_id": org, "status": "any", "limit": "5"}
    plain = client.get("/v1/resources/things", params=params).json()["pagination"]
    assert "total" not in plain
    assert plain["hasNext"]
    counted = client.get("/v1/resources/things", params={**params, "count": "exact"}).json()
    assert (counted["pagination"]["total"], counted["pagination"]["totalPages"]) == (30, 6)
    whole = client.get("/v1/resources/things", params={**params, "limit": "100"}).json()
    assert whole["pagination"]["total"] == 30  # one page holds every match: known for free
