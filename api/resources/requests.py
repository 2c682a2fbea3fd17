"""What a resource request carries beyond its body's shape: the merge-patch media type, the
body as the domain's content, a merge patch as JSON, and an ``as_of`` time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.platform.errors import ApiException
from api.resources.schemas import ResourceBody, ResourcePatchBody
from domain.resource.commands import Content
from domain.resource.events import Relationship
from projections.resource_filters import QueryError
from projections.resource_query import Query, expand_paths, parse

MERGE_PATCH = "application/merge-patch+json"


async def merge_patch_only(connection: ASGIConnection[Any, Any, Any, Any],
                           _: BaseRouteHandler) -> None:
    """RFC 7396: a PATCH body is a merge patch, named by its media type (else 415)."""
    media = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != MERGE_PATCH:
        raise ApiException(415, "unsupported_media_type", reason="merge_patch_required")


def content_of(body: ResourceBody) -> Content:
    meta = body.metadata
    return Content(data=body.data, tags=tuple(meta.tags) if meta else (),
                   labels=dict(meta.labels) if meta else {},
                   annotations=dict(meta.annotations) if meta else {},
                   relationships=tuple(Relationship(type=r.type, id=r.id)
                                       for r in body.relationships))


def patch_of(body: ResourcePatchBody) -> dict[str, Any]:
    """The merge patch as JSON: the fields the client left out are absent, its nulls kept."""
    patch: dict[str, Any] = msgspec.to_builtins(body)
    return patch


def as_of_time(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ApiException(400, "invalid_parameter", reason="as_of_time_invalid") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def parsed(items: list[tuple[str, str]], schema: dict[str, Any]) -> Query:
    """The request's query (its parameters, repeated ones included), or the 400 naming its
    first bad parameter."""
    try:
        return parse(items, schema)
    except QueryError as e:
        raise _refused(e) from None


def expansions(raw: str | None) -> tuple[str, ...]:
    try:
        return expand_paths(raw)
    except QueryError as e:
        raise _refused(e) from None


def _refused(e: QueryError) -> ApiException:
    return ApiException(400, "invalid_parameter", reason=e.reason,
                        params={"parameter": e.parameter, **e.params})
