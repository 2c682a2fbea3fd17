"""Replay routes for auditors: an organization's events in store order (filtered, paged by
position), any stream's full history, and any stream's state as of a version or a time, read
from the event store itself. The permission is `audit` (read); another organization's stream
is a 404, recorded as a denial. Credential fields are redacted as in the audit trail."""

from __future__ import annotations

import math
from typing import Annotated, Any
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get
from litestar.params import FromPath, QueryParameter

from api.audit.routes import RESOURCE, OrgParam, Text  # the auditors' permission and filters
from api.audit.schemas import AuditActor
from api.auth.access import Tenant, principal_of, require
from api.auth.tenancy import read
from api.events.schemas import EventOut, EventPage, StreamHistory, StreamState
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Services, waits_for
from api.platform.errors import ApiException, FieldError
from api.platform.paging import cursor_position
from api.platform.schemas import PaginationInfo
from api.platform.times import parse_as_of, parse_time
from commands import history
from domain import limits as lim
from domain.envelope import Envelope
from infra.container import Container
from projections import event_queries as queries
from projections import paging
from projections.audit_map import redact

Since = Annotated[str | None, QueryParameter(
    name="from", max_length=lim.MAX_TIMESTAMP_TEXT, required=False,
    description="Events at or after this RFC 3339 time")]
Until = Annotated[str | None, QueryParameter(
    name="to", max_length=lim.MAX_TIMESTAMP_TEXT, required=False,
    description="Events before this RFC 3339 time")]
Position = Annotated[int | None, QueryParameter(
    ge=0, le=2**63 - 1, required=False, description="Only events after this store position",
    schema_extra={"minimum": 0, "maximum": 2**63 - 1})]
STREAM = ("not_found", "permission_denied")
StreamId = FromPath[UUID]


def event_out(position: int, e: Envelope) -> EventOut:
    data = {k: v for k, v in msgspec.to_builtins(e.event).items() if k != "type"}
    return EventOut(position=position, event_id=e.event_id, type=e.event_type,
                    stream_id=e.stream_id, stream_type=e.stream_type, version=e.version,
                    organization_id=e.organization_id, occurred_at=e.occurred_at,
                    actor=AuditActor(kind=e.actor.kind, id=e.actor.id),
                    request_id=e.request_id, correlation_id=e.correlation_id,
                    causation_id=e.causation_id, data=redact(data))


def type_pattern(raw: str | None) -> str | None:
    if raw is not None and not queries.TYPE_PATTERN.fullmatch(raw):
        message = "type must be an event type or a pattern with *, like resource.*"
        raise ApiException(400, "invalid_parameter", message,
                           details=[FieldError("type", message)])
    return raw


class EventController(Controller):
    path = "/v1/events"
    tags = ["events"]
    dependencies = waits_for("audit_chain")

    @get("/", summary="The organization's events in store order (filters, paged by position)",
         **docs.read(EventPage, "invalid_parameter", "permission_denied", "cursor_invalid",
                     "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp, organization_id: OrgParam = None,
                    stream_id: Annotated[UUID | None, QueryParameter(required=False)] = None,
                    type: Text = None, actor: Text = None,
                    since: Since = None, until: Until = None, after: Position = None,
                    limit: Annotated[int, QueryParameter(
                        ge=1, le=lim.MAX_PAGE_SIZE)] = lim.DEFAULT_PAGE_SIZE,
                    cursor: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_CURSOR)] = None) -> EventPage:
        org_id = organization_id or tenant
        require(request, RESOURCE, "read", org_id)
        start = cursor_position(cursor) if cursor else after
        wanted = queries.Filters(org_id, stream_id, type_pattern(type), actor,
                                 parse_time(since, "from"), parse_time(until, "to"), start)
        await caught_up(container)
        found, more, total = await read(container, request, lambda conn: queries.positions(
            conn, wanted, limit))
        # The rows are read by the positions the walled index gave, on a service connection:
        # the event store's table has no organization column for a wall of its own.
        async with container.pool.connection() as conn:
            events = await queries.stored(conn, found)
        return EventPage(data=[event_out(p, e) for p, e in events], pagination=PaginationInfo(
            limit=limit, total=total, total_pages=math.ceil(total / limit),
            has_next=more, has_prev=start is not None,
            next_cursor=paging.encode_cursor(found[-1]) if more else None))

    @get("/streams/{stream_id:uuid}", summary="A stream's history, oldest first, paged by"
         " version", **docs.read(StreamHistory, *STREAM, "invalid_parameter", "cursor_invalid"))
    async def stream(self, request: Request, container: Services, stream_id: StreamId,
                     after: Annotated[int | None, QueryParameter(
                         ge=0, le=2**63 - 1, required=False,
                         description="Only events after this stream version")] = None,
                     limit: Annotated[int, QueryParameter(
                         ge=1, le=lim.MAX_PAGE_SIZE)] = lim.DEFAULT_PAGE_SIZE,
                     cursor: Annotated[str | None, QueryParameter(
                         max_length=lim.MAX_CURSOR)] = None) -> StreamHistory:
        require(request, RESOURCE, "read")
        start = cursor_position(cursor) if cursor else after
        async with container.pool.connection() as conn:
            page = await queries.stream(conn, stream_id, start or 0, limit)
        _owned(request, page.owner)
        return StreamHistory(
            stream_id=stream_id, data=[event_out(p, e) for p, e in page.events],
            pagination=PaginationInfo(
                limit=limit, total=page.total, total_pages=math.ceil(page.total / limit),
                has_next=page.more, has_prev=bool(start),
                next_cursor=paging.encode_cursor(page.events[-1][1].version)
                if page.more else None))

    @get("/streams/{stream_id:uuid}/state", summary="A stream's state as of a version or a time"
         " (default: now), folded with its decider", **docs.read(
             StreamState, *STREAM, "invalid_parameter", "as_of_invalid"))
    async def state(self, request: Request, container: Services, stream_id: StreamId,
                    version: Annotated[int | None, QueryParameter(
                        ge=1, le=2**63 - 1, required=False)] = None,
                    as_of: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_TIMESTAMP_TEXT, required=False,
                        description="An ISO 8601 time (or a version)")] = None) -> StreamState:
        require(request, RESOURCE, "read")
        at = None
        if as_of is not None:
            as_version, at = parse_as_of(as_of)
            version = version if as_version is None else as_version
        past = await _as_of(container, stream_id, version, at)
        _owned(request, past.organization_id if past else None)
        assert past is not None
        return StreamState(stream_id=stream_id, stream_type=past.stream_type,
                           organization_id=past.organization_id, version=past.version,
                           created_at=past.created_at, updated_at=past.updated_at,
                           state=redact(msgspec.to_builtins(past.state)))


async def _as_of(c: Container, stream_id: UUID, version: int | None,
                 at: Any) -> history.StreamAsOf | None:
    return await to_thread.run_sync(
        lambda: history.stream_as_of(c.store, stream_id, version=version, at=at))


def _owned(request: Request, owner: UUID | None) -> None:
    """404 unless the stream exists (then) and is the caller's organization's; another
    organization's is recorded as a denial."""
    principal = principal_of(request)
    foreign = principal is not None and owner is not None \
        and owner != principal.organization_id
    if owner is None or foreign:
        raise ApiException(404, "not_found", audit=foreign)
