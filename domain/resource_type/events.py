"""Resource type events, tagged ``resource_type.<Name>``; a schema is carried whole, as JSON."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class ResourceTypeRegistered(_Event, tag="resource_type.Registered", frozen=True):
    organization_id: UUID
    name: str
    schema: dict[str, Any]
    description: str
    indexed: tuple[str, ...]
    type_version: int = 1


class SchemaExtended(_Event, tag="resource_type.SchemaExtended", frozen=True):
    """Optional properties were added: the same type version, its schema replaced."""

    type_version: int
    schema: dict[str, Any]


class VersionAdded(_Event, tag="resource_type.VersionAdded", frozen=True):
    """Any other schema change: a new type version; the older ones stay as they were."""

    type_version: int
    schema: dict[str, Any]


class DescriptionChanged(_Event, tag="resource_type.DescriptionChanged", frozen=True):
    description: str


ResourceTypeEvent = ResourceTypeRegistered | SchemaExtended | VersionAdded | DescriptionChanged
