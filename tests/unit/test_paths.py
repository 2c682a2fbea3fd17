"""Dot paths into JSON objects: the value a path names, an object cut down to paths, and a
grant's filters by path (on objects, and as a query's filters)."""

from __future__ import annotations

from typing import Any

from domain.paths import MISSING, picked, value_at
from domain.permissions import ApiPermission, Conditions, admits, required_filters, visible
from projections.resource_grants import narrowed
from projections.resource_query import parse

BEE: dict[str, Any] = {"id": "1", "status": "active", "data": {
    "name": "Maya", "hive": {"city": "Oslo", "size": 3}, "none": None}}


def test_a_path_names_a_nested_value_or_nothing() -> None:
    assert value_at(BEE, "data.hive.city") == "Oslo"
    assert value_at(BEE, "data.none") is None
    assert value_at(BEE, "data.hive.city.more") is MISSING
    assert value_at(BEE, "data.wings") is MISSING
    assert value_at({"a.b": 1, "a": {"b": 2}}, "a.b") == 1  # a whole key is found first


def test_picking_nests_the_paths_and_a_whole_field_wins_over_its_parts() -> None:
    assert picked(BEE, ["id", "data.hive.city", "data.none", "data.wings"]) == {
        "id": "1", "data": {"hive": {"city": "Oslo"}, "none": None}}
    assert picked(BEE, ["data.hive.city", "data.hive"]) == {"data": {"hive": BEE["data"]["hive"]}}
    assert picked(BEE, ["data", "data.hive.city"]) == {"data": BEE["data"]}
    assert picked(BEE, []) == {}


def test_a_grant_filters_and_shows_by_dot_paths() -> None:
    eu = ApiPermission(resource="resources", actions=("read",), conditions=Conditions(
        filters={"data.hive.city": "Oslo"}, fields=("status", "data.name")))
    assert admits((eu,), "resources:bees", "read", BEE)
    assert not admits((eu,), "resources:bees", "read", {**BEE, "data": {"hive": {}}})
    assert visible(BEE, frozenset({"id", "status", "data.name"})) == {
        "id": "1", "status": "active", "data": {"name": "Maya"}}
    assert required_filters(((eu,),), "resources:bees", "read") == {"data.hive.city": "Oslo"}
    anyone = ApiPermission(resource="resources:bees", actions=("read",))
    assert required_filters(((eu, anyone),), "resources:bees", "read") == {}


def test_a_read_grants_filters_become_query_filters_where_a_query_field_says_them() -> None:
    base = parse([], {"type": "object"})
    more = narrowed(base, {"data.region": "eu", "status": "active", "metadata.labels.team": "a",
                           "type": "bees", "createdAt": "2026-01-01", "id": "not a uuid"},
                    {"type": "object"})
    added = more.filters[len(base.filters):]
    assert [sql for sql, _params in added] == [
        "r.data @> %s", "r.status = %s", "coalesce(r.labels -> %s, 'null'::jsonb) = %s"]
    assert [[getattr(p, "obj", p) for p in params] for _sql, params in added] == [
        [{"region": "eu"}], ["active"], ["team", "a"]]
