"""The HTTP server span of each request (installed outside the telemetry layer only when
tracing is on): named ``{method} {route template}`` once the router has chosen the route,
the child of an incoming W3C ``traceparent``, current while the request runs, so the command,
the queries and the log lines it causes are in its trace."""

from __future__ import annotations

from typing import cast

from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from infra import tracing


def traced(app: ASGIApp) -> ASGIApp:
    """``app`` with a server span per HTTP request (not per WebSocket or lifespan message)."""

    async def server_span(scope: Scope, receive: Receive, send: Send) -> None:
        tracer = tracing.STATE.tracer
        if scope["type"] != "http" or tracer is None:
            await app(scope, receive, send)
            return
        http = cast("HTTPScope", scope)
        method = http["method"]
        incoming = next((v for k, v in http["headers"] if k == b"traceparent"), None)
        span = tracer.start_span(method, context=tracing.parent(incoming), kind=SpanKind.SERVER,
                                 attributes={"http.request.method": method,
                                             "url.scheme": http["scheme"],
                                             "url.path": http["path"],
                                             "network.protocol.version": http["http_version"]})
        token = otel_context.attach(trace.set_span_in_context(span))
        status = [500]

        async def sent(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await app(scope, receive, sent)
        finally:
            otel_context.detach(token)
            _finish(span, method, http.get("path_template", ""), status[0])

    return server_span


def _finish(span: trace.Span, method: str, route: str, status: int) -> None:
    # The route is known only after routing; an unrouted request is named by its method.
    if route:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
        span.set_attribute("error.type", str(status))
    span.end()
