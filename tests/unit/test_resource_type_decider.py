"""Resource types: registration, bounds, and evolution in place or by a new type version."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.limits import MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH
from domain.resource_type import decider as rt
from domain.resource_type.commands import ChangeResourceType, RegisterResourceType
from domain.resource_type.events import (
    DescriptionChanged,
    ResourceTypeRegistered,
    SchemaExtended,
    VersionAdded,
)
from domain.resource_type.evolution import extends_in_place
from tests.unit.spec import Specification

ORG = uuid.UUID(int=1)
SCHEMA: dict[str, Any] = {"type": "object", "properties": {"sku": {"type": "string"}},
                          "required": ["sku"]}
EXTENDED = {**SCHEMA, "properties": {**SCHEMA["properties"], "note": {"type": "string"}}}
REGISTERED = ResourceTypeRegistered(organization_id=ORG, name="orders", schema=SCHEMA,
                                    description="", indexed=())
SPEC = Specification(rt.DECIDER)


def test_registering_records_the_type_at_type_version_one() -> None:
    SPEC.given().when(RegisterResourceType(organization_id=ORG, name="orders",
                                           schema=SCHEMA)).then(REGISTERED)
    assert SPEC.given(REGISTERED).state.type_version == 1


def test_a_second_registration_of_the_name_is_refused() -> None:
    SPEC.given(REGISTERED).when(RegisterResourceType(
        organization_id=ORG, name="orders", schema=SCHEMA)).then_raises(AlreadyExists, field="name")


@pytest.mark.parametrize("name", ["", "Orders", "1st", "_x", "a-b", "a" * 64, "ördnung"])
def test_a_name_outside_the_pattern_is_refused(name: str) -> None:
    SPEC.given().when(RegisterResourceType(organization_id=ORG, name=name, schema=SCHEMA)
                      ).then_raises(InvalidValue, field="name")


def test_a_schema_over_the_size_or_depth_bound_is_refused() -> None:
    big = {"description": "x" * MAX_SCHEMA_BYTES}
    deep: dict[str, Any] = {}
    for _ in range(MAX_SCHEMA_DEPTH):
        deep = {"not": deep}
    for schema, code in ((big, "schema_too_large"), (deep, "schema_too_deep")):
        error = SPEC.given().when(RegisterResourceType(organization_id=ORG, name="t",
                                                       schema=schema)).then_raises(
            InvalidValue, field="schema")
        assert error.code == code


@pytest.mark.parametrize("indexed", [("a",) * 2, ("a b",), (".a",), tuple(f"p{i}" for i in range(17))])
def test_bad_indexed_paths_are_refused(indexed: tuple[str, ...]) -> None:
    SPEC.given().when(RegisterResourceType(organization_id=ORG, name="t", schema=SCHEMA,
                                           indexed=indexed)).then_raises(InvalidValue,
                                                                          field="indexed")


def test_adding_an_optional_property_extends_the_schema_in_place() -> None:
    SPEC.given(REGISTERED).when(ChangeResourceType(schema=EXTENDED)).then(
        SchemaExtended(type_version=1, schema=EXTENDED))
    state = SPEC.given(REGISTERED, SchemaExtended(type_version=1, schema=EXTENDED)).state
    assert (state.type_version, state.schema_of(1)) == (1, EXTENDED)


def test_a_breaking_change_adds_a_type_version_and_keeps_the_old_one() -> None:
    tightened = {**SCHEMA, "required": ["sku", "qty"]}
    SPEC.given(REGISTERED).when(ChangeResourceType(schema=tightened)).then(
        VersionAdded(type_version=2, schema=tightened))
    state = SPEC.given(REGISTERED, VersionAdded(type_version=2, schema=tightened)).state
    assert (state.type_version, state.schema_of(1), state.schema_of(2)) == (2, SCHEMA, tightened)
    assert state.schema_of(3) is None


def test_the_same_schema_and_description_change_nothing() -> None:
    SPEC.given(REGISTERED).when(ChangeResourceType(schema=SCHEMA, description="")).then()


def test_a_description_change_is_its_own_event() -> None:
    SPEC.given(REGISTERED).when(ChangeResourceType(description="Orders")).then(
        DescriptionChanged(description="Orders"))


def test_changing_an_unregistered_type_is_not_found() -> None:
    SPEC.given().when(ChangeResourceType(description="x")).then_raises(NotFound)


def test_the_stream_id_is_per_organization_and_name() -> None:
    assert rt.stream_id(ORG, "orders") == rt.stream_id(ORG, "orders")
    assert rt.stream_id(ORG, "orders") != rt.stream_id(uuid.UUID(int=2), "orders")
    assert rt.stream_id(ORG, "orders") != rt.stream_id(ORG, "order")


keys = st.from_regex(r"[a-z]{1,8}", fullmatch=True)
leaf_schemas = st.sampled_from([{"type": "string"}, {"type": "integer"}, {"type": "boolean"},
                                {"type": "string", "maxLength": 10}])
object_schemas = st.builds(
    lambda props, req: {"type": "object", "properties": props,
                        "required": sorted(k for k in props if k in req)},
    st.dictionaries(keys, leaf_schemas, min_size=1, max_size=5), st.sets(keys))


@given(schema=object_schemas, added=st.dictionaries(keys, leaf_schemas, min_size=1, max_size=3))
def test_adding_properties_not_listed_as_required_is_in_place(
        schema: dict[str, Any], added: dict[str, Any]) -> None:
    fresh = {k: v for k, v in added.items() if k not in schema["properties"]}
    new = {**schema, "properties": {**schema["properties"], **fresh}}
    assert extends_in_place(schema, new) == bool(fresh)


@given(schema=object_schemas, data=st.data())
def test_removing_or_changing_a_property_is_a_new_version(
        schema: dict[str, Any], data: st.DataObject) -> None:
    victim = data.draw(st.sampled_from(sorted(schema["properties"])))
    props = dict(schema["properties"])
    removed = {**schema, "properties": {k: v for k, v in props.items() if k != victim}}
    changed = {**schema, "properties": {**props, victim: {"type": "null"}}}
    assert not extends_in_place(schema, removed)
    assert not extends_in_place(schema, changed)


@given(schema=object_schemas, extra=keys)
def test_requiring_more_or_adding_a_required_property_is_a_new_version(
        schema: dict[str, Any], extra: str) -> None:
    required = sorted({*schema["required"], extra})
    with_new = {**schema, "properties": {**schema["properties"], extra + "z": {"type": "string"}},
                "required": [*schema["required"], extra + "z"]}
    assert not extends_in_place(schema, with_new)
    if required != schema["required"]:
        assert not extends_in_place(schema, {**schema, "required": required})


@given(schema=object_schemas)
def test_a_tightened_keyword_outside_properties_is_a_new_version(schema: dict[str, Any]) -> None:
    assert not extends_in_place(schema, {**schema, "additionalProperties": False})
    assert not extends_in_place(schema, schema)
