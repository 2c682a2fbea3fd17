"""Resource commands: create (or upsert by key), replace, patch, delete, archive, restore."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from domain.resource.events import Relationship


class Content(msgspec.Struct, frozen=True, kw_only=True):
    """What a client writes: the data and its metadata and relationships."""

    data: dict[str, Any]
    tags: tuple[str, ...] = ()
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    relationships: tuple[Relationship, ...] = ()


class CreateResource(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: UUID
    resource_type: str
    type_version: int
    content: Content
    external_key: str | None = None


class ReplaceResource(msgspec.Struct, frozen=True, kw_only=True):
    type_version: int
    content: Content


class PatchResource(msgspec.Struct, frozen=True, kw_only=True):
    """The content a merge patch produced (the use case merges, then checks the data)."""

    type_version: int
    content: Content


class UpsertResource(msgspec.Struct, frozen=True, kw_only=True):
    """By external key: create it, or replace the resource the key already names."""

    organization_id: UUID
    resource_type: str
    type_version: int
    external_key: str
    content: Content


class DeleteResource(msgspec.Struct, frozen=True, kw_only=True):
    pass


class ArchiveResource(msgspec.Struct, frozen=True, kw_only=True):
    pass


class RestoreResource(msgspec.Struct, frozen=True, kw_only=True):
    pass


ResourceCommand = (CreateResource | ReplaceResource | PatchResource | UpsertResource
                   | DeleteResource | ArchiveResource | RestoreResource)
