"""Request and response bodies of the resource type routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta

from api.platform.bodies import Body
from api.platform.schemas import Out, PaginationInfo
from domain import limits as lim

TypeName = Annotated[str, Meta(min_length=1, max_length=lim.MAX_TYPE_NAME,
                               description="[a-z][a-z0-9_]{0,62}, unique per organization")]
Description = Annotated[str, Meta(max_length=lim.MAX_DESCRIPTION)]
# A JSON Schema (draft 2020-12) object; its encoded size and depth are the decider's bounds.
Schema = Annotated[dict[Annotated[str, Meta(max_length=lim.MAX_FIELD_NAME)], Any],
                   Meta(max_length=lim.MAX_METADATA_KEYS,
                        description="A JSON Schema (draft 2020-12) for the resources' data")]
IndexPath = Annotated[str, Meta(max_length=lim.MAX_INDEX_PATH)]
Indexed = Annotated[list[IndexPath], Meta(max_length=lim.MAX_INDEXED,
                                          description="Data paths to index, like a.b_c")]


class CreateResourceTypeBody(Body, frozen=True):
    name: TypeName
    schema: Schema
    organization_id: UUID | None = None
    description: Description = ""
    indexed: Indexed = []


class UpdateResourceTypeBody(Body, frozen=True):
    """Adding optional properties keeps the type version; any other schema change adds one."""

    schema: Schema | None = None
    description: Description | None = None


class ResourceTypeOut(Out, frozen=True):
    id: UUID
    organization_id: UUID
    name: str
    description: str
    schema: dict[str, Any]
    type_version: int  # of ``schema``; the current one unless ?version= asked for another
    indexed: list[str]
    version: int  # the stream's, as the ETag
    created_at: datetime
    updated_at: datetime


class ResourceTypePage(Out, frozen=True):
    data: list[ResourceTypeOut]
    pagination: PaginationInfo
