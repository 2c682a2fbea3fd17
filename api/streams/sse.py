"""The Server-Sent Events response: frames encoded once per event for every client, streamed
after the request has been handed off.

An idle stream's cost is what it keeps alive. Streamed inside litestar, it kept every layer's
suspended coroutine (telemetry, tracing, the edge, litestar's router, middleware and response),
their send wrappers, the request, its scope and everything cached in it: about half of the
Python memory of an idle stream. Here the response sends its start through those layers, then
hands its body off in the scope (``HANDOFF``) and returns, so the request ends (its log record
and server span are complete: a stream's request lasts until its handshake) and the app's
outermost call (``App``, api/app.py) sends the frames with the server's own ``send``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
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
# What a handed-off stream's scope keeps: nothing reads it any more (granian would only for
# its access log, which `chronicle api` turns off), so only what says what it was.
KEPT = ("type", "http_version", "method")


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


class SseStream:
    """One handed-off stream: sends its frames until they end or the client has gone.

    The client's leaving is heard by a callback on the pending ``receive`` (granian's is a
    future already; any other server's coroutine becomes a task), not by a task of its own
    with a coroutine waiting in it: it ends the stream's subscription at once."""

    __slots__ = ("left", "receive", "subscriber", "waiting")

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.subscriber: Subscriber | None = None
        self.left = False
        self.waiting: asyncio.Future[Any] | None = None

    def leave(self) -> None:
        self.left = True
        if self.subscriber is not None:
            self.subscriber.close(GONE)

    def _listen(self) -> None:
        self.waiting = asyncio.ensure_future(self.receive())
        self.waiting.add_done_callback(self._heard)

    def _heard(self, waiting: asyncio.Future[Any]) -> None:
        if waiting.cancelled():
            return
        if waiting.exception() is not None or waiting.result()["type"] == "http.disconnect":
            self.leave()
        else:
            self._listen()

    async def pump(self, source: AsyncGenerator[Frame, None], send: Send) -> None:
        """Send every frame of ``source`` until the stream is closed or the client has gone."""
        self._listen()
        try:  # not contextlib.aclosing: one object less held by every idle stream
            async for frame in source:
                if isinstance(frame, Opened):
                    self.subscriber = frame.subscriber
                    if self.left:
                        self.leave()
                if isinstance(frame, Closed) and frame.reason == GONE:
                    return
                await send({"type": "http.response.body", "body": encoded(frame),
                            "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await source.aclose()
            if self.waiting is not None:
                self.waiting.cancel()


class EventStream(Stream):
    def __init__(self, source: AsyncGenerator[Frame, None]) -> None:
        # Frames, not bytes: they are never iterated by litestar, only handed off.
        super().__init__(source, media_type="text/event-stream",  # type: ignore[arg-type]
                         headers=HEADERS)

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        response = super().to_asgi_response(*args, **kwargs)
        response.__class__ = _HandedOff  # the same slots; only __call__ differs
        return response


class _HandedOff(ASGIStreamingResponse):
    __slots__ = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.start_response(send=send)
        scope[HANDOFF] = self.iterator  # type: ignore[literal-required]


def handed_off(scope: dict[str, Any]) -> AsyncGenerator[Frame, None] | None:
    """The frames the request handed off, if it did: the app's outermost call streams them
    once the request has returned (api/app.py ``App``).

    The server keeps the scope for the connection's life (granian holds it beside the
    protocol), so everything the request put in it (its state, the parsed headers litestar
    caches, the guards' principal, the route handler's copy, the path and query) is dropped
    here, and the dict is rebuilt small (a dict never shrinks as keys leave)."""
    source: AsyncGenerator[Frame, None] | None = scope.pop(HANDOFF, None)
    if source is not None:
        kept = {key: scope[key] for key in KEPT if key in scope}
        scope.clear()
        scope.update(kept)
    return source
