"""Request and response bodies of the resource routes: the seed's Resource, in camelCase."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from api.platform.bodies import Body
from api.platform.schemas import Out, PaginationInfo
from domain import limits as lim
from domain.resource.events import RelationshipType

Key = Annotated[str, Meta(max_length=lim.MAX_LABEL_KEY)]
Tag = Annotated[str, Meta(max_length=lim.MAX_TAG)]
Tags = Annotated[list[Tag], Meta(max_length=lim.MAX_TAGS)]
LabelValue = Annotated[str, Meta(max_length=lim.MAX_LABEL_VALUE)]
NoteValue = Annotated[str, Meta(max_length=lim.MAX_ANNOTATION_VALUE)]
Labels = Annotated[dict[Key, LabelValue], Meta(max_length=lim.MAX_LABELS)]
Annotations = Annotated[dict[Key, NoteValue], Meta(max_length=lim.MAX_LABELS)]
# The type's JSON Schema checks data; its canonical size and depth are the decider's bounds.
Data = Annotated[dict[Annotated[str, Meta(max_length=lim.MAX_FIELD_NAME)], Any],
                 Meta(max_length=lim.MAX_DATA_KEYS,
                      description="The resource's data, matching its type's JSON Schema")]


class RelationshipIn(Body, frozen=True):
    type: RelationshipType
    id: Annotated[UUID, Meta(description="A resource of the same organization")]


Relationships = Annotated[list[RelationshipIn], Meta(max_length=lim.MAX_RELATIONSHIPS)]


class MetadataIn(Body, frozen=True):
    tags: Tags = []
    labels: Labels = {}
    annotations: Annotations = {}


class ResourceBody(Body, frozen=True):
    """A create, a replace or an upsert: the whole writable resource."""

    data: Data
    metadata: MetadataIn | None = None
    relationships: Relationships = []


LabelsPatch = Annotated[dict[Key, LabelValue | None], Meta(max_length=lim.MAX_LABELS)]
AnnotationsPatch = Annotated[dict[Key, NoteValue | None], Meta(max_length=lim.MAX_LABELS)]


class MetadataPatch(Body, frozen=True):
    tags: Tags | UnsetType | None = UNSET
    labels: LabelsPatch | UnsetType | None = UNSET
    annotations: AnnotationsPatch | UnsetType | None = UNSET


class ResourcePatchBody(Body, frozen=True):
    """An RFC 7396 merge patch of the writable resource: objects merge, null removes, arrays
    (tags, relationships) are replaced whole."""

    data: Data | UnsetType = UNSET
    metadata: MetadataPatch | UnsetType | None = UNSET
    relationships: Relationships | UnsetType | None = UNSET


class RelationshipOut(Out, frozen=True):
    type: str
    id: UUID


class MetadataOut(Out, frozen=True):
    tags: list[str]
    labels: dict[str, str]
    annotations: dict[str, str]
    checksum: str  # SHA-256 of the canonical JSON of data
    size: int  # data's canonical JSON, in bytes


class ResourceOut(Out, frozen=True):
    id: UUID
    type: str
    type_version: int  # of the schema the data was written under
    external_key: str | None
    data: dict[str, Any]
    metadata: MetadataOut
    relationships: list[RelationshipOut]
    status: str
    version: int  # the stream's, as the ETag
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class ResourcePage(Out, frozen=True):
    data: list[ResourceOut]
    pagination: PaginationInfo


class VersionOut(Out, frozen=True):
    version: int
    event_type: str
    actor: str  # "<kind>:<id>", as createdBy
    occurred_at: datetime


class VersionPage(Out, frozen=True):
    data: list[VersionOut]
    pagination: PaginationInfo


class RelationshipShown(Out, frozen=True, omit_defaults=True):
    type: str
    id: UUID
    resource: ResourceShown | UnsetType = UNSET  # with expand=relationships.<type>


class ResourceShown(Out, frozen=True, omit_defaults=True):
    """A resource in a query's answer: the fields `select` asked for (every one without it),
    its relationships' resources inlined by `expand`."""

    id: UUID | UnsetType = UNSET
    type: str | UnsetType = UNSET
    type_version: int | UnsetType = UNSET
    external_key: str | UnsetType | None = UNSET
    data: dict[str, Any] | UnsetType = UNSET
    metadata: MetadataOut | UnsetType = UNSET
    relationships: list[RelationshipShown] | UnsetType = UNSET
    status: str | UnsetType = UNSET
    version: int | UnsetType = UNSET
    created_by: str | UnsetType = UNSET
    updated_by: str | UnsetType = UNSET
    created_at: datetime | UnsetType = UNSET
    updated_at: datetime | UnsetType = UNSET
    deleted_at: datetime | UnsetType | None = UNSET


class QueryPagination(Out, frozen=True):
    """The seed's PaginationInfo; ``total`` and ``totalPages`` with ``count=exact`` (or when
    the first page holds every match): counting a large match costs more than the page."""

    limit: int
    has_next: bool
    has_prev: bool
    next_cursor: str | None = None
    prev_cursor: str | None = None
    total: int | UnsetType = UNSET
    total_pages: int | UnsetType = UNSET


class ResourceQueryPage(Out, frozen=True):
    data: list[ResourceShown]
    pagination: QueryPagination
