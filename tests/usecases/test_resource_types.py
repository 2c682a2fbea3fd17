"""Resource type use cases on the in-memory store: the name race, evolution, If-Match, and the
compiled validator the resources' CRUD will call."""

from __future__ import annotations

from typing import Any

import pytest

from commands.organizations import OrganizationCommands
from commands.resource_types import ResourceTypeCommands
from commands.runner import VersionConflict
from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.resource_type import decider as rt
from domain.resource_type.commands import ChangeResourceType, RegisterResourceType
from infra.jsonschemas import JsonSchemas
from tests.builders import context
from tests.usecases.conftest import RacingStore, new_org

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"qty": {"type": "integer"}},
                          "required": ["qty"]}


@pytest.fixture
def schemas() -> JsonSchemas:
    return JsonSchemas()


@pytest.fixture
def types(store: RacingStore, schemas: JsonSchemas) -> ResourceTypeCommands:
    return ResourceTypeCommands(store, schemas, retries=3)


def register(types: ResourceTypeCommands, org: Any, name: str = "orders",
             schema: dict[str, Any] = SCHEMA) -> int:
    return types.register(context(), RegisterResourceType(
        organization_id=org, name=name, schema=schema)).version


def test_two_registrations_of_one_name_at_once_leave_one_type(
        store: RacingStore, organizations: OrganizationCommands,
        types: ResourceTypeCommands) -> None:
    org = new_org(organizations)
    store.rivals.append(lambda: register(types, org))
    with pytest.raises(AlreadyExists):
        register(types, org, schema={"type": "object"})
    [registered] = store.load(rt.stream_id(org, "orders"))
    assert registered.event.schema == SCHEMA  # type: ignore[union-attr]


def test_the_same_name_is_free_in_another_organization(
        organizations: OrganizationCommands, types: ResourceTypeCommands) -> None:
    assert register(types, new_org(organizations, "a")) == register(
        types, new_org(organizations, "b")) == 1


def test_a_schema_the_meta_schema_refuses_is_refused_with_its_pointer(
        organizations: OrganizationCommands, types: ResourceTypeCommands,
        store: RacingStore) -> None:
    org = new_org(organizations)
    with pytest.raises(InvalidValue) as caught:
        register(types, org, schema={"properties": {"qty": {"type": "integr"}}})
    assert caught.value.field == "/schema/properties/qty/type"
    assert store.load(rt.stream_id(org, "orders")) == []


def test_a_remote_reference_is_refused_without_being_fetched(
        organizations: OrganizationCommands, types: ResourceTypeCommands) -> None:
    with pytest.raises(InvalidValue) as caught:
        register(types, new_org(organizations), schema={"$ref": "http://127.0.0.1:9/x.json"})
    assert caught.value.code == "schema_invalid"


def test_data_is_validated_against_the_type_version_it_names(
        organizations: OrganizationCommands, types: ResourceTypeCommands) -> None:
    org = new_org(organizations)
    register(types, org)
    loose = {"type": "object", "properties": {"qty": {"type": "string"}}}
    types.change(context(), org, "orders", ChangeResourceType(schema=loose))
    types.validate(org, "orders", 1, {"qty": 3})
    types.validate(org, "orders", 2, {"qty": "three"})
    with pytest.raises(InvalidValue) as caught:
        types.validate(org, "orders", 1, {"qty": "three"})
    assert (caught.value.field, caught.value.code) == ("/data/qty", "data_invalid")
    with pytest.raises(NotFound):
        types.validate(org, "orders", 3, {})


def test_a_validator_is_compiled_once_and_again_after_an_in_place_extension(
        organizations: OrganizationCommands, types: ResourceTypeCommands,
        schemas: JsonSchemas) -> None:
    org = new_org(organizations)
    register(types, org)
    for _ in range(3):
        types.validate(org, "orders", 1, {"qty": 1})
    assert schemas.compilations == 1
    extended = {**SCHEMA, "properties": {**SCHEMA["properties"], "note": {"type": "string"}}}
    result = types.change(context(), org, "orders", ChangeResourceType(schema=extended))
    with pytest.raises(InvalidValue):
        types.validate(org, "orders", 1, {"qty": 1, "note": 5})
    assert (schemas.compilations, result.version) == (2, 2)


def test_a_change_under_a_stale_if_match_is_a_conflict(
        organizations: OrganizationCommands, types: ResourceTypeCommands) -> None:
    org = new_org(organizations)
    register(types, org)
    types.change(context(), org, "orders", ChangeResourceType(description="one"))
    with pytest.raises(VersionConflict):
        types.change(context(), org, "orders", ChangeResourceType(description="two"),
                     expected_version=1)


def test_registering_in_an_unknown_organization_is_not_found(
        types: ResourceTypeCommands) -> None:
    with pytest.raises(NotFound):
        register(types, rt.NAMESPACE)
