"""Resource decider: create, write (replace or patch), and move between active, archived and
deleted (soft: a deleted resource stays readable, and writable by nothing).

A resource upserted by an external key lives on a stream whose id is derived from
(organization, type, key), so the key is claimed by the append itself: two upserts of a new key
collide at version 0 and the one retried finds the resource and replaces it.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal, assert_never
from uuid import UUID

import msgspec

from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidState, InvalidValue, NotFound
from domain.limits import (
    MAX_ANNOTATION_VALUE,
    MAX_DATA_BYTES,
    MAX_DATA_DEPTH,
    MAX_EXTERNAL_KEY,
    MAX_LABEL_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_RELATIONSHIPS,
    MAX_TAG,
    MAX_TAGS,
)
from domain.resource.commands import (
    ArchiveResource,
    Content,
    CreateResource,
    DeleteResource,
    PatchResource,
    ReplaceResource,
    ResourceCommand,
    RestoreResource,
    UpsertResource,
)
from domain.resource.document import canonical, checksum
from domain.resource.events import (
    Relationship,
    ResourceArchived,
    ResourceCreated,
    ResourceDeleted,
    ResourceEvent,
    ResourcePatched,
    ResourceReplaced,
    ResourceRestored,
)
from domain.resource_type.decider import depth

KEY_NAMESPACE = UUID("0c3e7f52-91d4-4a8b-b6e1-5d2f8a7c4e90")
EXTERNAL_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@~-]*")
Status = Literal["absent", "active", "archived", "deleted"]


def key_stream_id(organization_id: UUID, resource_type: str, key: str) -> UUID:
    return uuid.uuid5(KEY_NAMESPACE, f"{organization_id}:{resource_type}:{key}")


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    organization_id: UUID | None = None
    resource_type: str = ""
    type_version: int = 0
    external_key: str | None = None
    data: dict[str, Any] = {}
    tags: tuple[str, ...] = ()
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    relationships: tuple[Relationship, ...] = ()
    checksum: str = ""
    size: int = 0
    # Who and when, as the envelopes say (domain/resource/stamps.py folds them; ``evolve``,
    # which sees events only, keeps them as they are): what a permission filter on
    # createdBy, updatedBy or a timestamp reads.
    created_by: str = ""
    updated_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def content(self) -> Content:
        return Content(data=self.data, tags=self.tags, labels=self.labels,
                       annotations=self.annotations, relationships=self.relationships)


INITIAL = Resource()


def evolve(state: Resource, event: ResourceEvent) -> Resource:
    match event:
        case ResourceCreated():
            return Resource(status="active", organization_id=event.organization_id,
                            resource_type=event.resource_type,
                            external_key=event.external_key, **_written(event))
        case ResourceReplaced() | ResourcePatched():
            return msgspec.structs.replace(state, **_written(event))
        case ResourceDeleted():
            return msgspec.structs.replace(state, status="deleted")
        case ResourceArchived():
            return msgspec.structs.replace(state, status="archived")
        case ResourceRestored():
            return msgspec.structs.replace(state, status="active")
        case _:
            return state


def _written(e: ResourceCreated | ResourceReplaced | ResourcePatched) -> dict[str, Any]:
    return {"type_version": e.type_version, "data": e.data, "tags": e.tags, "labels": e.labels,
            "annotations": e.annotations, "relationships": e.relationships,
            "checksum": e.checksum, "size": e.size}


def decide(command: ResourceCommand, state: Resource) -> list[ResourceEvent]:
    match command:
        case CreateResource():
            if state.status != "absent":
                raise AlreadyExists("the resource already exists", code="resource_exists")
            return [_created(command.organization_id, command.resource_type,
                             command.type_version, command.content, command.external_key)]
        case UpsertResource():
            if state.status == "absent":
                return [_created(command.organization_id, command.resource_type,
                                 command.type_version, command.content,
                                 check_key(command.external_key))]
            _writable(state)
            return [ResourceReplaced(**_fields(command.type_version, command.content))]
        case ReplaceResource():
            _writable(state)
            return [ResourceReplaced(**_fields(command.type_version, command.content))]
        case PatchResource():
            _writable(state)
            return [ResourcePatched(**_fields(command.type_version, command.content))]
        case DeleteResource():
            _existing(state)
            return [] if state.status == "deleted" else [ResourceDeleted()]
        case ArchiveResource():
            _existing(state)
            if state.status == "deleted":
                raise InvalidState("the resource has been deleted", code="resource_deleted")
            return [] if state.status == "archived" else [ResourceArchived()]
        case RestoreResource():
            _existing(state)
            return [] if state.status == "active" else [ResourceRestored()]
        case _:
            assert_never(command)


def _created(organization_id: UUID, resource_type: str, type_version: int, content: Content,
             key: str | None) -> ResourceCreated:
    return ResourceCreated(organization_id=organization_id, resource_type=resource_type,
                           external_key=key, **_fields(type_version, content))


def _existing(state: Resource) -> None:
    if state.status == "absent":
        raise NotFound("resource not found", code="resource_not_found")


def _writable(state: Resource) -> None:
    """Only an active resource takes new content: an archived one is restored first."""
    _existing(state)
    if state.status == "deleted":
        raise InvalidState("the resource has been deleted", code="resource_deleted")
    if state.status == "archived":
        raise InvalidState("the resource is archived; restore it first",
                           code="resource_archived")


def _fields(type_version: int, content: Content) -> dict[str, Any]:
    check_content(content)
    encoded = canonical(content.data)
    if len(encoded) > MAX_DATA_BYTES:
        raise InvalidValue(f"data is larger than {MAX_DATA_BYTES} bytes of canonical JSON",
                           field="data",
                           code="data_too_large", params={"max": MAX_DATA_BYTES})
    return {"type_version": type_version, "data": content.data, "tags": content.tags,
            "labels": content.labels, "annotations": content.annotations,
            "relationships": content.relationships, "checksum": checksum(encoded),
            "size": len(encoded)}


def check_content(content: Content) -> None:
    """The metadata's and relationships' bounds (the request bodies hold the same ones)."""
    if depth(content.data) > MAX_DATA_DEPTH:
        raise InvalidValue(f"data nests deeper than {MAX_DATA_DEPTH} levels", field="data",
                           code="data_too_deep", params={"max": MAX_DATA_DEPTH})
    labels_ok = all(len(k) <= MAX_LABEL_KEY and len(v) <= MAX_LABEL_VALUE
                    for k, v in content.labels.items())
    notes_ok = all(len(k) <= MAX_LABEL_KEY and len(v) <= MAX_ANNOTATION_VALUE
                   for k, v in content.annotations.items())
    if (len(content.tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in content.tags)
            or len(content.labels) > MAX_LABELS or len(content.annotations) > MAX_LABELS
            or not labels_ok or not notes_ok):
        raise InvalidValue("metadata is larger than the limits allow (at most"
                           f" {MAX_LABELS} labels or annotations)", field="metadata",
                           code="resource_metadata_too_large", params={"max": MAX_LABELS})
    if len(content.relationships) > MAX_RELATIONSHIPS:
        raise InvalidValue(f"at most {MAX_RELATIONSHIPS} relationships",
                           field="relationships", code="relationships_too_many",
                           params={"max": MAX_RELATIONSHIPS})


def check_key(key: str) -> str:
    if len(key) > MAX_EXTERNAL_KEY or not EXTERNAL_KEY.fullmatch(key):
        raise InvalidValue(f"an external key is 1-{MAX_EXTERNAL_KEY} letters, digits or"
                           " . _ : @ ~ -, starting with a letter or digit", field="key",
                           code="external_key_invalid", params={"max": MAX_EXTERNAL_KEY})
    return key


DECIDER = Decider("resource", INITIAL, evolve, decide)
