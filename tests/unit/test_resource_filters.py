"""The resource query parser and SQL compiler, without a database: typed values, every value
a bound parameter, and each bad parameter named."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from domain.limits import MAX_RANKED_MATCHES
from projections.resource_filters import QueryError
from projections.resource_query import encode_cursor, page_sql, parse

SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "price": {"type": "number"}, "name": {"type": "string"}, "ok": {"type": "boolean"},
    "sizes": {"type": "array", "items": {"type": "integer"}},
    "shop": {"type": "object", "properties": {"city": {"type": "string"}}}}}
ORG = uuid.uuid4()


def compiled(*items: tuple[str, str]) -> tuple[str, list[Any]]:
    return page_sql(parse(list(items), SCHEMA), ORG, "things")


def refused(*items: tuple[str, str]) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse(list(items), SCHEMA)
    return caught.value


def test_a_number_property_is_compared_as_a_json_number_and_a_string_one_as_text() -> None:
    text, params = compiled(("data.price", "gt.10"), ("data.name", "gte.10"))
    assert "jsonb_typeof" in text
    number_only, _ = compiled(("data.price", "gt.10"))
    assert "< 'false'::jsonb" in number_only  # a plain range: the expression index serves it
    assert "jsonb_typeof" not in number_only
    values = [p.obj for p in params if isinstance(p, Jsonb)]
    assert 10 in values
    assert "10" in values


def test_equality_on_a_data_path_is_a_containment_the_gin_index_serves() -> None:
    text, params = compiled(("data.shop.city", "eq.Kyoto"))
    assert "r.data @> %s" in text
    assert any(isinstance(p, Jsonb) and p.obj == {"shop": {"city": "Kyoto"}} for p in params)


def test_a_hostile_value_is_only_ever_a_parameter() -> None:
    hostile = "x'); DROP TABLE resources; --"
    for op in ("eq", "ne", "gt", "prefix", "contains"):
        text, params = compiled(("data.name", f"{op}.{hostile}"), ("labels.k", f"eq.{hostile}"),
                                ("q", hostile))
        assert "DROP" not in text
        assert hostile in [p.obj if isinstance(p, Jsonb) else p for p in params]


def test_the_default_is_active_resources_in_creation_order() -> None:
    text, params = compiled()
    assert "r.status = %s" in text
    assert "active" in params
    assert "ORDER BY r.created_position ASC" in text


def test_status_any_lifts_the_default_status() -> None:
    _text, params = compiled(("status", "any"))
    assert "active" not in params


def test_an_order_is_broken_by_id_and_a_search_without_order_is_ranked() -> None:
    text, _ = compiled(("order", "data.price.desc"))
    assert text.endswith("DESC, r.id DESC LIMIT %s")
    ranked, _ = compiled(("q", "honey bees"))
    assert "ORDER BY ts_rank" in ranked


def test_a_search_without_order_ranks_only_its_newest_matches_and_an_ordered_one_walks_all(
) -> None:
    ranked, params = compiled(("q", "honey"))
    assert "ORDER BY r.created_position DESC LIMIT %s) r" in ranked
    assert MAX_RANKED_MATCHES in params
    ordered, params = compiled(("q", "honey"), ("order", "data.price.asc"))
    assert "created_position DESC LIMIT" not in ordered
    assert MAX_RANKED_MATCHES not in params


def test_the_export_of_a_ranked_search_ranks_every_match() -> None:
    text, _ = page_sql(parse([("q", "honey")], SCHEMA), ORG, "things", limit=10, window=None)
    assert "ORDER BY ts_rank" in text
    assert "created_position DESC LIMIT" not in text


@pytest.mark.parametrize(("items", "parameter", "reason"), [
    ((("data.price", "gt.ten"),), "data.price", "query_value_invalid"),
    ((("data.price", "between.1"),), "data.price", "query_operator_invalid"),
    ((("data.price", "prefix.1"),), "data.price", "query_operator_not_for_field"),
    ((("data.x-y", "eq.1"),), "data.x-y", "query_field_unknown"),
    ((("colour", "eq.red"),), "colour", "query_field_unknown"),
    ((("id", "eq.not-a-uuid"),), "id", "query_value_invalid"),
    ((("createdAt", "gt.yesterday"),), "createdAt", "query_value_invalid"),
    ((("createdAt", "gt.2026-01-01T00:00:00"),), "createdAt", "query_value_invalid"),
    ((("version", "gt.1.5"),), "version", "query_value_invalid"),
    ((("tags", "gt.a"),), "tags", "query_operator_not_for_field"),
    ((("data.ok", "eq.maybe"),), "data.ok", "query_value_invalid"),
    ((("data.name", "in.(a,\"b)"),), "data.name", "query_value_invalid"),
    ((("data.name", "exists.maybe"),), "data.name", "query_value_invalid"),
    ((("order", "data.price.sideways"),), "order", "query_order_invalid"),
    ((("order", "tags.asc"),), "order", "query_order_invalid"),
    ((("limit", "0"),), "limit", "query_limit_invalid"),
    ((("limit", "1001"),), "limit", "query_limit_invalid"),
    ((("limit", "1"), ("limit", "2")), "limit", "query_parameter_repeated"),
    ((("select", "data,password"),), "select", "query_select_invalid"),
    ((("expand", "relationships.parent.parent.parent.parent"),), "expand",
     "query_expand_invalid"),
    ((("cursor", "bm90IGEgY3Vyc29y"),), "cursor", "cursor_invalid"),
    ((("status", "nope"),), "status", "status_filter_invalid"),
])
def test_a_bad_parameter_is_refused_naming_it(items: tuple[tuple[str, str], ...],
                                               parameter: str, reason: str) -> None:
    error = refused(*items)
    assert (error.parameter, error.reason) == (parameter, reason)


def test_in_takes_quoted_values_holding_commas() -> None:
    _, params = compiled(("data.name", 'in.(a,"b,c",d)'))
    listed = next(p for p in params if isinstance(p, list) and p and isinstance(p[0], Jsonb))
    assert [p.obj for p in listed] == ["a", "b,c", "d"]


def test_a_cursor_made_under_another_order_is_refused() -> None:
    made = parse([("order", "data.price.asc")], SCHEMA)
    cursor = encode_cursor(uuid.uuid4(), made.signature)
    assert parse([("order", "data.price.asc"), ("cursor", cursor)], SCHEMA).cursor is not None
    assert refused(("order", "data.name.asc"), ("cursor", cursor)).reason == "cursor_invalid"


def test_an_undeclared_property_is_typed_by_its_literal() -> None:
    _, params = compiled(("data.free", "gt.3"), ("data.other", "eq.true"))
    values = [p.obj for p in params if isinstance(p, Jsonb)]
    assert 3 in values
    assert {"other": True} in values


def test_contains_on_an_array_property_is_typed_by_its_items() -> None:
    _, params = compiled(("data.sizes", "contains.3"))
    assert any(isinstance(p, Jsonb) and p.obj == [3] for p in params)


def test_the_platforms_own_parameters_are_not_filters() -> None:
    query = parse([("organization_id", str(ORG)), ("min_position", "7"),
                   ("chronicle_version", "2026-01-01")], SCHEMA)
    assert len(query.filters) == 1  # the default status
