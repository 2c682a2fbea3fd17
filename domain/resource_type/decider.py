"""Resource type decider: register, then evolve the schema in place or by a new type version.

The stream id is derived from (organization, name), so a name is unique per organization by
the append itself: a second registration conflicts at version 0.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal, assert_never
from uuid import UUID

import msgspec

from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.limits import (
    MAX_INDEX_PATH,
    MAX_INDEXED,
    MAX_SCHEMA_BYTES,
    MAX_SCHEMA_DEPTH,
    check_description,
)
from domain.resource_type.commands import (
    ChangeResourceType,
    RegisterResourceType,
    ResourceTypeCommand,
)
from domain.resource_type.events import (
    DescriptionChanged,
    ResourceTypeEvent,
    ResourceTypeRegistered,
    SchemaExtended,
    VersionAdded,
)
from domain.resource_type.evolution import extends_in_place

NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
INDEX_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
NAMESPACE = UUID("5b0c1d2e-8f1a-4c6b-9d3e-7a2f4e6c8b10")
Status = Literal["absent", "active"]


def stream_id(organization_id: UUID, name: str) -> UUID:
    return uuid.uuid5(NAMESPACE, f"{organization_id}:{name}")


class ResourceType(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    organization_id: UUID | None = None
    name: str = ""
    description: str = ""
    indexed: tuple[str, ...] = ()
    schemas: tuple[dict[str, Any], ...] = ()  # type version N is schemas[N - 1]

    @property
    def type_version(self) -> int:
        return len(self.schemas)

    def schema_of(self, type_version: int) -> dict[str, Any] | None:
        return self.schemas[type_version - 1] if 1 <= type_version <= len(self.schemas) else None


INITIAL = ResourceType()


def evolve(state: ResourceType, event: ResourceTypeEvent) -> ResourceType:
    match event:
        case ResourceTypeRegistered():
            return ResourceType(status="active", organization_id=event.organization_id,
                                name=event.name, description=event.description,
                                indexed=event.indexed, schemas=(event.schema,))
        case SchemaExtended():
            schemas = list(state.schemas)
            if 1 <= event.type_version <= len(schemas):
                schemas[event.type_version - 1] = event.schema
            return msgspec.structs.replace(state, schemas=tuple(schemas))
        case VersionAdded():
            return msgspec.structs.replace(state, schemas=(*state.schemas, event.schema))
        case DescriptionChanged():
            return msgspec.structs.replace(state, description=event.description)
        case _:
            return state


def decide(command: ResourceTypeCommand, state: ResourceType) -> list[ResourceTypeEvent]:
    match command:
        case RegisterResourceType():
            if state.status != "absent":
                raise AlreadyExists("resource type already exists", field="name",
                                    code="resource_type_exists", params={"name": command.name})
            return [ResourceTypeRegistered(
                organization_id=command.organization_id, name=check_name(command.name),
                schema=check_schema(command.schema), description=_description(command.description),
                indexed=_indexed(command.indexed))]
        case ChangeResourceType():
            if state.status != "active":
                raise NotFound("resource type not found", code="resource_type_not_found")
            return [*_schema_change(command.schema, state),
                    *_description_change(command.description, state)]
        case _:
            assert_never(command)


def _schema_change(schema: dict[str, Any] | None,
                   state: ResourceType) -> list[ResourceTypeEvent]:
    current = state.schemas[-1]
    if schema is None or schema == current:
        return []
    checked = check_schema(schema)
    if extends_in_place(current, checked):
        return [SchemaExtended(type_version=state.type_version, schema=checked)]
    return [VersionAdded(type_version=state.type_version + 1, schema=checked)]


def _description_change(description: str | None,
                        state: ResourceType) -> list[ResourceTypeEvent]:
    if description is None or description == state.description:
        return []
    return [DescriptionChanged(description=_description(description))]


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise InvalidValue("a type name is a lowercase letter, then up to 62 lowercase letters,"
                           " digits or underscores", field="name", code="resource_type_name_invalid")
    return name


def check_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema's bounds (its meta-schema check is the schema library's, in the use case)."""
    size = len(msgspec.json.encode(schema))
    if size > MAX_SCHEMA_BYTES:
        raise InvalidValue(f"the schema is {size} bytes; at most {MAX_SCHEMA_BYTES} are allowed",
                           field="schema", code="schema_too_large",
                           params={"max": MAX_SCHEMA_BYTES})
    if depth(schema) > MAX_SCHEMA_DEPTH:
        raise InvalidValue(f"the schema nests deeper than {MAX_SCHEMA_DEPTH} levels",
                           field="schema", code="schema_too_deep",
                           params={"max": MAX_SCHEMA_DEPTH})
    return schema


def depth(value: object) -> int:
    """How many objects and arrays nest in ``value`` (a scalar is 0), without recursion.
    Only containers are stacked: every bulk item's data is measured, mostly flat."""
    if not isinstance(value, (dict, list)):
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        deepest = max(deepest, level)
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, level + 1))
    return deepest


def _description(raw: str) -> str:
    return check_description(raw, "resource_type_description_too_long")


def _indexed(paths: tuple[str, ...]) -> tuple[str, ...]:
    if len(paths) > MAX_INDEXED or len(set(paths)) != len(paths) or any(
            len(p) > MAX_INDEX_PATH or not INDEX_PATH.fullmatch(p) for p in paths):
        raise InvalidValue(f"indexed is at most {MAX_INDEXED} distinct data paths like a.b_c",
                           field="indexed", code="indexed_paths_invalid",
                           params={"max": MAX_INDEXED})
    return paths


DECIDER = Decider("resource_type", INITIAL, evolve, decide)
