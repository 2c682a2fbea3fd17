"""Request and response bodies of transactions and bulk operations: a resource write (the
resources' own bounded shapes for data, metadata, relationships and merge patches), and what
each answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from api.platform.bodies import Body
from api.platform.schemas import Out, PaginationInfo
from api.resources.schemas import Data, MetadataIn, Relationships, ResourcePatchBody
from domain import limits as lim
from domain.resource.commands import Content
from domain.resource.events import Relationship
from domain.resource.writes import ResourceWrite, WriteOp

TypeName = Annotated[str, Meta(max_length=lim.MAX_TYPE_NAME)]
Key = Annotated[str, Meta(max_length=lim.MAX_EXTERNAL_KEY)]
Version = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class _WriteFields(Body, frozen=True, kw_only=True):
    type: TypeName
    id: UUID | None = None  # replace, patch/update, delete
    key: Key | None = None  # upsert
    expected_version: Version | None = None
    data: Data | None = None  # create, replace, upsert
    metadata: MetadataIn | None = None
    relationships: Relationships = []
    patch: ResourcePatchBody | None = None  # patch/update: an RFC 7396 merge patch
    cascade: bool = False  # delete: also delete what depends on it (else 409 / a failed item)

    def write(self, op: WriteOp) -> ResourceWrite:
        content = None if self.data is None else Content(
            data=self.data, tags=tuple(self.metadata.tags) if self.metadata else (),
            labels=dict(self.metadata.labels) if self.metadata else {},
            annotations=dict(self.metadata.annotations) if self.metadata else {},
            relationships=tuple(Relationship(type=r.type, id=r.id)
                                for r in self.relationships))
        return ResourceWrite(op=op, resource_type=self.type, resource_id=self.id, key=self.key,
                             expected_version=self.expected_version, content=content,
                             patch=None if self.patch is None else msgspec.to_builtins(
                                 self.patch), cascade=self.cascade)


class TransactionItem(_WriteFields, frozen=True, kw_only=True):
    op: WriteOp


class TransactionBody(Body, frozen=True):
    items: Annotated[list[TransactionItem], Meta(min_length=1,
                                                 max_length=lim.MAX_TRANSACTION_ITEMS)]


class TransactionItemOut(Out, frozen=True):
    index: int
    id: UUID
    version: int


class TransactionOut(Out, frozen=True):
    items: list[TransactionItemOut]
    position: int | None  # the last event's, for min_position (None: nothing changed)


class BulkItem(_WriteFields, frozen=True, kw_only=True):
    op: Literal["create", "update", "upsert", "delete"]  # update: a merge patch

    def as_write(self) -> ResourceWrite:
        return self.write("patch" if self.op == "update" else self.op)


class BulkOperationBody(Body, frozen=True):
    items: Annotated[list[BulkItem], Meta(min_length=1, max_length=lim.MAX_BULK_ITEMS)]


class BulkResultOut(Out, frozen=True, omit_defaults=True):
    index: int
    success: bool
    resource_id: UUID | None = None
    version: int | None = None
    error: str | None = None  # the catalog reason
    message: str | None = None


class BulkOperationSummary(Out, frozen=True):
    """The seed's BulkOperation without its per-item results (as the list shows one)."""

    id: UUID
    organization_id: UUID
    status: str  # pending, processing, completed, failed
    total_count: int
    success_count: int
    failure_count: int
    created_by: str
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None


class BulkOperationOut(BulkOperationSummary, frozen=True):
    """The seed's BulkOperation."""

    results: list[BulkResultOut] = []
    position: int | None = None  # in the 202: pass as min_position to read the operation


class BulkOperationPage(Out, frozen=True):
    data: list[BulkOperationSummary]
    pagination: PaginationInfo
