"""The live event streams: ``GET /v1/events/stream`` (Server-Sent Events) and ``/v1/ws``
(WebSocket) push the caller's organization's events as they happen, with the permission of
GET /v1/events (``audit`` read), filtered by ``types``, resumable from a store position.

SSE frames (api/streams/sse.py): ``id: <position>`` and ``data: <the event as GET /v1/events
shows it>``; a comment line every STREAM_HEARTBEAT seconds; a last ``event: close`` saying why
the server ended the stream.

WebSocket messages are JSON objects: ``{"type": "subscribed", "position": N}``, then
``{"type": "event", "data": {...}}``, ``{"type": "heartbeat"}`` and a last ``{"type":
"closing", ...}``. The client may send ``{"type": "resume", "after": N}``: the server answers
``{"type": "resumed", "after": N}``, every event after N (from the store up to the last one
sent, sent or not), then the live ones; any other message is answered ``{"type": "error",
"error": {...}}`` and the stream goes on. Both routes take ``?ticket=``
(api/streams/tickets.py) for browsers.

litestar has no exception handlers for WebSocket routes (a raised error
closes the socket with 4500 before it is accepted, which clients see as a bare 403), so the
socket route authenticates with the /v1 guard itself and answers a refusal on the accepted
socket: the structured error body, then close code 4000 + the HTTP status.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream

from api.audit.routes import RESOURCE, OrgParam
from api.auth.access import principal_of, require, tenant_of
from api.auth.policy import organization_policy_guard
from api.events.routes import Position
from api.platform import i18n
from api.platform.dependencies import Services
from api.platform.errors import ApiError, ApiException, language_of
from api.platform.middleware import ensure_request_id
from api.platform.ratelimit import rate_limit_guard
from api.streams.clientmessages import client_request
from api.streams.live import (
    GONE,
    Closed,
    Control,
    Frame,
    Opened,
    Resumed,
    Told,
    Wanted,
    admit,
    closing_json,
    event_json,
    frames,
    resume_point,
    type_patterns,
)
from api.streams.refusals import record_refusal
from api.streams.sse import EventStream
from api.streams.tickets import authenticate
from domain import limits as lim
from infra.container import Container
from infra.streamhub import Item, Subscriber

Types = Annotated[str | None, QueryParameter(
    max_length=lim.MAX_STREAM_TYPES_TEXT, required=False,
    description="Comma-separated event types or patterns with *, like resource.* (default: all)")]
LastEventId = Annotated[str | None, HeaderParameter(
    name="Last-Event-ID", max_length=lim.MAX_LAST_EVENT_ID, required=False,
    description="Resume after this store position (what EventSource sends on reconnect)")]


def wanted_by(request: Request | WebSocket, organization_id: UUID | None, types: str | None,
              after: int | None) -> Wanted:
    """What the caller may stream: its own organization's events (the operator: the one named,
    else every organization's), refused like GET /v1/events."""
    org_id = organization_id or tenant_of(request)  # type: ignore[arg-type]
    require(request, RESOURCE, "read", org_id)  # type: ignore[arg-type]
    return Wanted(org_id, type_patterns(types), after)


class StreamController(Controller):
    path = "/v1/events/stream"
    tags = ["events"]

    # Not in the OpenAPI document: OpenAPI 3.1 cannot describe an endless event stream, and
    # the document's fuzzer would wait on one for every generated case. The README has it.
    @get("/", include_in_schema=False)
    async def stream(self, request: Request, container: Services,
                     organization_id: OrgParam = None, types: Types = None,
                     after: Position = None, last_event_id: LastEventId = None) -> Stream:
        wanted = await admit(container, wanted_by(
            request, organization_id, types, resume_point(last_event_id, after)))
        return EventStream(frames(container, principal_of(request), wanted))


def ws_event(item: Item) -> bytes:
    cached = item.frames.get("ws")
    if cached is None:
        cached = item.frames["ws"] = b'{"type":"event","data":%s}' % event_json(item)
    return cached


def ws_message(frame: Frame) -> bytes:
    if frame is None:
        return b'{"type":"heartbeat"}'
    if isinstance(frame, Opened):
        return b'{"type":"subscribed","position":%d}' % frame.position
    if isinstance(frame, Resumed):
        return b'{"type":"resumed","after":%d}' % frame.after
    assert isinstance(frame, Closed), "a list of events is sent one message per event"
    return b'{"type":"closing",%s' % closing_json(frame.reason)[1:]


@websocket("/v1/ws")
async def live_socket(socket: WebSocket[Any, Any, Any], organization_id: OrgParam = None,
                      types: Types = None, after: Position = None) -> None:
    container: Container = socket.app.state.container
    await socket.accept()
    refused = await _refusal(socket, container, organization_id, types, after)
    if isinstance(refused, ApiException):
        record_refusal(socket, container, refused)
        await socket.send_text(_error_text(socket, refused))
        await socket.close(code=4000 + refused.status, reason=refused.reason)
        return
    listener: asyncio.Task[None] | None = None
    control = Control()
    principal = principal_of(socket)  # type: ignore[arg-type]
    try:
        async with contextlib.aclosing(frames(container, principal, refused, control)) as source:
            async for frame in source:
                if isinstance(frame, Opened):
                    listener = asyncio.create_task(_listen(socket, frame.subscriber, control))
                if not await _send(socket, frame):
                    return
    finally:
        if listener is not None:
            listener.cancel()


async def _listen(socket: WebSocket[Any, Any, Any], sub: Subscriber, control: Control) -> None:
    """Reads the client's messages until it closes, then ends its stream: a resume is handed
    to the stream's loop, anything else is answered with an error frame (by that loop, the
    socket's one sender).

    The socket's one task besides litestar's: without a pending receive, a client's close
    frame would go unanswered until the next heartbeat failed to send."""
    with contextlib.suppress(WebSocketDisconnect):
        while (message := await socket.receive())["type"] != "websocket.disconnect":
            control.ask(sub, client_request(message.get("text"), message.get("bytes")))
    sub.close(GONE)


async def _send(socket: WebSocket[Any, Any, Any], frame: Frame) -> bool:
    """Send a frame (one message per event: each parses as one JSON object); False when the
    stream is over."""
    if isinstance(frame, list):
        for item in frame:
            await socket.send_text(ws_event(item).decode())
        return True
    if isinstance(frame, Closed) and frame.reason == GONE:
        return False
    if isinstance(frame, Told):
        await socket.send_text(_error_text(socket, frame.error))
        return True
    await socket.send_text(ws_message(frame).decode())
    if isinstance(frame, Closed):
        await socket.close(code=1013 if frame.reason == "slow_consumer" else 1001,
                           reason=frame.reason)
        return False
    return True


async def _refusal(socket: WebSocket[Any, Any, Any], container: Container,
                   organization_id: UUID | None, types: str | None,
                   after: int | None) -> Wanted | ApiException:
    """What the socket may stream, or why not: the /v1 guard's steps (authentication by
    header or stream ticket, the organization's policy, the rate limit), the permission and
    the limits."""
    handler = socket.scope["route_handler"]
    try:
        for guard in (authenticate, organization_policy_guard, rate_limit_guard):
            await guard(socket, handler)
        return await admit(container, wanted_by(socket, organization_id, types, after))
    except ApiException as exc:
        return exc


def _error_text(socket: WebSocket[Any, Any, Any], exc: ApiException) -> str:
    text, _ = i18n.localize(exc.reason, language_of(socket), exc.params,  # type: ignore[arg-type]
                            exc.message)
    error = ApiError(code=exc.code, message=text, reason=exc.reason,
                     request_id=ensure_request_id(socket.scope), timestamp=datetime.now(UTC),
                     details=exc.details)
    return msgspec.json.encode({"type": "error", "error": error}).decode()
