"""Resource events, tagged ``resource.<Name>``. A write carries the resulting document whole
(data, metadata, relationships, checksum, size): a patch is stored as what it produced, so the
read models write rows without reading them first and a replay needs no merge."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec

RelationshipType = Literal["parent", "child", "reference", "dependency"]


class Relationship(msgspec.Struct, frozen=True, kw_only=True):
    type: RelationshipType
    id: UUID


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class _Written(_Event, frozen=True, kw_only=True):
    """What every write stores: the content and the type version its data was checked under."""

    type_version: int
    data: dict[str, Any]
    tags: tuple[str, ...] = ()
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    relationships: tuple[Relationship, ...] = ()
    checksum: str  # SHA-256 of the canonical JSON of data
    size: int  # the canonical JSON's length in bytes


class ResourceCreated(_Written, tag="resource.Created", frozen=True, kw_only=True):
    organization_id: UUID
    resource_type: str
    external_key: str | None = None


class ResourceReplaced(_Written, tag="resource.Replaced", frozen=True):
    pass


class ResourcePatched(_Written, tag="resource.Patched", frozen=True):
    """A JSON merge patch (RFC 7396) was applied: the document it produced."""


class ResourceDeleted(_Event, tag="resource.Deleted", frozen=True):
    pass


class ResourceArchived(_Event, tag="resource.Archived", frozen=True):
    pass


class ResourceRestored(_Event, tag="resource.Restored", frozen=True):
    pass


ResourceEvent = (ResourceCreated | ResourceReplaced | ResourcePatched | ResourceDeleted
                 | ResourceArchived | ResourceRestored)
