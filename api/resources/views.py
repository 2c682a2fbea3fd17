"""The resource as the API shows it: from a read-model row, or folded from its events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from api.resources.schemas import MetadataOut, RelationshipOut, ResourceOut
from commands.history import Past
from domain.resource.decider import Resource
from domain.resource.events import ResourceDeleted, ResourceRestored
from projections.resources import actor_of


def from_row(row: dict[str, Any]) -> ResourceOut:
    return ResourceOut(
        id=row["id"], type=row["type"], type_version=row["type_version"],
        external_key=row["external_key"], data=row["data"], metadata=MetadataOut(
            tags=row["tags"], labels=row["labels"], annotations=row["annotations"],
            checksum=row["checksum"], size=row["size"]),
        relationships=msgspec.convert(row["relationships"], list[RelationshipOut]),
        status=row["status"], version=row["version"], created_by=row["created_by"],
        updated_by=row["updated_by"], created_at=row["created_at"],
        updated_at=row["updated_at"], deleted_at=row["deleted_at"])


def from_past(resource_id: UUID, past: Past[Resource]) -> ResourceOut:
    """The resource as it was after the last of ``past``'s events."""
    s, first, last = past.state, past.envelopes[0], past.envelopes[-1]
    deleted_at = None
    for e in past.envelopes:
        if isinstance(e.event, ResourceDeleted):
            deleted_at = e.occurred_at
        elif isinstance(e.event, ResourceRestored):
            deleted_at = None
    return ResourceOut(
        id=resource_id, type=s.resource_type, type_version=s.type_version,
        external_key=s.external_key, data=s.data, metadata=MetadataOut(
            tags=list(s.tags), labels=s.labels, annotations=s.annotations, checksum=s.checksum,
            size=s.size),
        relationships=[RelationshipOut(type=r.type, id=r.id) for r in s.relationships],
        status=s.status, version=past.version, created_by=actor_of(first),
        updated_by=actor_of(last), created_at=first.occurred_at, updated_at=last.occurred_at,
        deleted_at=deleted_at)
