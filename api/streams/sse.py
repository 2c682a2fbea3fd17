"""The Server-Sent Events response: frames encoded once per event for every client, streamed
after the request has been handed off.

An idle stream's cost is what it keeps alive. Streamed inside litestar, it kept every layer's
suspended coroutine (telemetry, tracing, the edge, litestar's router, middleware and response),
their send wrappers, the request, its scope and everything cached in it: about half of the
Python memory of an idle stream. Here the response sends its start through those layers, then
hands its body off in the scope (``HANDOFF``) and returns, so the request ends (its log record
and server span are complete: a stream's request lasts until its handshake) and the app's
outermost call (``App``, api/app.py) sends the frames with the server's own ``send``.
One small task waits for the client to leave, which ends the stream's subscription at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Scope, Send

from api.streams.live import GONE, Closed, Frame, Opened, closing_json, event_json
from infra.streamhub import Item, Subscriber

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
HEARTBEAT = b": heartbeat\n\n"
HANDOFF = "chronicle.sse"  # the scope key a handed-off body waits under
KEPT = frozenset({"type", "asgi", "http_version", "method", "scheme", "path", "raw_path",
                  "query_string", "root_path", "client", "server"})


def sse_event(item: Item) -> bytes:
    cached = item.frames.get("sse")
    if cached is None:
        cached = item.frames["sse"] = b"id: %d\ndata: %s\n\n" % (item.position, event_json(item))
    return cached


def encoded(frame: Frame) -> bytes:
    if frame is None:
        return HEARTBEAT
    if isinstance(frame, Opened):
        return b"retry: 1000\n: subscribed at %d\n\n" % frame.position
    if isinstance(frame, Closed):
        return b"event: close\ndata: %s\n\n" % closing_json(frame.reason)
    assert isinstance(frame, list), "an SSE stream has no client messages to answer"
    return b"".join(map(sse_event, frame))


class SseBody:
    """One response's frames; ``leave`` ends them when the client has gone."""

    __slots__ = ("left", "source", "subscriber")

    def __init__(self, source: AsyncGenerator[Frame, None]) -> None:
        self.source = source
        self.subscriber: Subscriber | None = None
        self.left = False

    def leave(self, _watcher: object = None) -> None:
        self.left = True
        if self.subscriber is not None:
            self.subscriber.close(GONE)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async with contextlib.aclosing(self.source):
            async for frame in self.source:
                if isinstance(frame, Opened):
                    self.subscriber = frame.subscriber
                    if self.left:
                        self.leave()
                if isinstance(frame, Closed) and frame.reason == GONE:
                    return
                yield encoded(frame)

    async def pump(self, send: Send, receive: Receive) -> None:
        """Send every frame until the stream is closed or the client has gone."""
        watcher = asyncio.ensure_future(_disconnected(receive))
        watcher.add_done_callback(self.leave)
        try:
            async for chunk in self:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if not self.left:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()


class EventStream(Stream):
    def __init__(self, source: AsyncGenerator[Frame, None]) -> None:
        super().__init__(SseBody(source), media_type="text/event-stream", headers=HEADERS)

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        response = super().to_asgi_response(*args, **kwargs)
        response.__class__ = _HandedOff  # the same slots; only __call__ differs
        return response


class _HandedOff(ASGIStreamingResponse):
    __slots__ = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.start_response(send=send)
        scope[HANDOFF] = self.iterator  # type: ignore[literal-required]


def handed_off(scope: Scope) -> SseBody | None:
    """The body the request handed off, if it did: the app's outermost call streams it once
    the request has returned (api/app.py ``App``).

    The server keeps the scope for the connection's life (granian holds it beside the
    protocol), so everything the request put in it (its state, the parsed headers litestar
    caches, the guards' principal, the route handler's copy) is dropped here; the ASGI
    spec's basic keys stay for the server."""
    body: SseBody | None = scope.pop(HANDOFF, None)  # type: ignore[misc]
    if body is not None:
        for key in scope.keys() - KEPT:
            del scope[key]  # type: ignore[misc]
    return body


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
