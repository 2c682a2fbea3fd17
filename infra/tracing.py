"""Traces: each process's OpenTelemetry tracer provider and the spans Chronicle makes with it.

The provider is built by the process's start-up (``setup``: `chronicle` for its processes,
each API worker for itself), never at import. With TRACING_EXPORTER=off nothing is built:
every helper here sees no tracer and returns at once (a shared no-op context, an empty
string), so tracing off costs one attribute test per hook.

A trace starts at the API's request (or at whatever process runs a command) and travels as a
W3C ``traceparent``: in the event's envelope through the store, in the Kafka header from the
relay, in the webhook outbox row to the sender, and in the webhook request to the receiver.
Only work that carries a trace context makes a span downstream (a replayed or seeded event
starts no trace of its own in the relay or the projectors).
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from commands import runner
from infra.settings import Settings

SCOPE = "chronicle"
NOTHING: contextlib.nullcontext[str] = contextlib.nullcontext("")
_PROPAGATOR = TraceContextTextMapPropagator()


class _State:
    provider: TracerProvider | None = None
    tracer: Tracer | None = None


STATE = _State()


def setup(settings: Settings, service: str, exporter: SpanExporter | None = None) -> bool:
    """Build this process's provider when TRACING_EXPORTER is not off (or an ``exporter`` is
    given: the tests' in-memory one, exported synchronously); True when tracing is on."""
    if exporter is None and settings.tracing_exporter == "off":
        return False
    shutdown()
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name or service}),
        sampler=ParentBased(TraceIdRatioBased(settings.tracing_sample_ratio)))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
        atexit.register(provider.shutdown)  # the last batch is sent as the process ends
    STATE.provider, STATE.tracer = provider, provider.get_tracer(SCOPE)
    runner.TRACE_COMMAND = command_span
    return True


def _exporter(settings: Settings) -> SpanExporter:
    if settings.tracing_exporter == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # Given explicitly, the endpoint is used as it is: the signal's path is ours to add.
    return OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_endpoint.rstrip("/")
                            + "/v1/traces")


def shutdown() -> None:
    """Flush and drop the provider: tracing is off again (the tests' teardown)."""
    provider = STATE.provider
    STATE.provider = STATE.tracer = None
    runner.TRACE_COMMAND = None
    if provider is not None:
        provider.shutdown()


def flush(timeout_s: float = 5.0) -> None:
    """Export the spans still waiting (an API worker's shutdown: granian ends its workers
    without running ``atexit``)."""
    if STATE.provider is not None:
        STATE.provider.force_flush(int(timeout_s * 1000))


def on() -> bool:
    return STATE.tracer is not None


def traceparent_of(ctx: SpanContext) -> str:
    """W3C Trace Context, version 00, of a span's context ("" when it is invalid)."""
    if not ctx.is_valid:
        return ""
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def trace_id() -> str:
    """The active span's trace id (32 hex digits), or "" when tracing is off or none is."""
    if STATE.tracer is None:
        return ""
    ctx = trace.get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else ""


def current_traceparent() -> str:
    """The active span's traceparent, or "" when tracing is off or none is."""
    if STATE.tracer is None:
        return ""
    return traceparent_of(trace.get_current_span().get_span_context())


def parent(traceparent: str | bytes | None) -> otel_context.Context | None:
    """The remote parent a ``traceparent`` names, or None when it is absent or malformed."""
    if not traceparent:
        return None
    value = traceparent.decode("latin-1") if isinstance(traceparent, bytes) else traceparent
    found = _PROPAGATOR.extract({"traceparent": value})
    return found if trace.get_current_span(found).get_span_context().is_valid else None


def command_name(attempt: Any) -> str:
    """A command's name from its use case's function: ``OrganizationCommands.rename``."""
    name: str = getattr(attempt, "__qualname__", "") or type(attempt).__name__
    return name.split(".<locals>")[0]


@contextlib.contextmanager
def command_span(attempt: Any) -> Iterator[str]:
    """commands/runner.py's hook: the command's span, current while it runs; yields the
    traceparent its envelopes carry."""
    assert STATE.tracer is not None
    name = command_name(attempt)
    with STATE.tracer.start_as_current_span(f"command {name}", kind=SpanKind.INTERNAL,
                                            attributes={"chronicle.command": name}) as span:
        yield traceparent_of(span.get_span_context())


def db(operation: str, target: str) -> contextlib.AbstractContextManager[Any]:
    """A PostgreSQL client span around one statement (or one transaction) of ours."""
    if STATE.tracer is None:
        return NOTHING
    return STATE.tracer.start_as_current_span(
        f"{operation} {target}", kind=SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.system.name": "postgresql",
                    "db.operation.name": operation, "db.collection.name": target})


class Spans:
    """Spans started one per record of a batch and ended together when the batch is done
    (the relay's producer spans, a projector's consumer spans)."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    def start(self, name: str, kind: SpanKind, traceparent: str | bytes | None,
              attributes: dict[str, Any]) -> str:
        """A span that is the child of ``traceparent``; none (and "") without one."""
        context = parent(traceparent)
        if context is None or STATE.tracer is None:
            return ""
        span = STATE.tracer.start_span(name, context=context, kind=kind, attributes=attributes)
        self.spans.append(span)
        return traceparent_of(span.get_span_context())

    def end(self, error: str | None = None) -> None:
        for span in self.spans:
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, error))
            span.end()
        self.spans.clear()


class _NoSpans(Spans):
    def start(self, name: str, kind: SpanKind, traceparent: str | bytes | None,
              attributes: dict[str, Any]) -> str:
        return ""

    def end(self, error: str | None = None) -> None:
        return


NO_SPANS = _NoSpans()


def batch() -> Spans:
    """Spans for one batch; a shared one that records nothing when tracing is off."""
    return NO_SPANS if STATE.tracer is None else Spans()


@contextlib.contextmanager
def consuming(group: str, messages: Sequence[Any]) -> Iterator[None]:
    """A consumer span per Kafka record that carries a traceparent header, the child of the
    span that produced it, from before the batch is applied until it is committed."""
    if STATE.tracer is None:
        yield
        return
    spans = Spans()
    for msg in messages:
        header = next((v for k, v in msg.headers() or () if k == "traceparent"), None)
        spans.start(f"process {msg.topic()}", SpanKind.CONSUMER, header, {
            "messaging.system": "kafka", "messaging.operation.type": "process",
            "messaging.destination.name": msg.topic() or "",
            "messaging.consumer.group.name": group,
            "messaging.destination.partition.id": str(msg.partition()),
            "messaging.kafka.offset": msg.offset() or 0})
    try:
        yield
    except BaseException as exc:
        spans.end(f"{type(exc).__name__}: {exc}")
        raise
    spans.end()


class Call:
    """An outgoing HTTP request's span: the headers that carry it to the receiver, and its
    answer (``answered``) when it came."""

    def __init__(self, span: Span | None = None) -> None:
        self.span = span
        tp = "" if span is None else traceparent_of(span.get_span_context())
        self.headers: dict[str, str] = {"traceparent": tp} if tp else {}

    def answered(self, status: int | None, error: str = "") -> None:
        if self.span is None:
            return
        if status is not None:
            self.span.set_attribute("http.response.status_code", status)
        if status is None or status >= 400:
            self.span.set_status(Status(StatusCode.ERROR, error or str(status)))
            self.span.set_attribute("error.type", str(status) if status else "no_answer")


NO_CALL = Call()


@contextlib.contextmanager
def http_client(method: str, scheme: str, host: str, port: int, path: str,
                traceparent: str | None) -> Iterator[Call]:
    """A client span (``{method}``, HTTP semantic conventions) for a request made on behalf
    of ``traceparent``'s trace; without one (or with tracing off), nothing is recorded."""
    context = parent(traceparent)
    if STATE.tracer is None or context is None:
        yield NO_CALL
        return
    # The path without its query: a receiver's URL may carry a token there.
    with STATE.tracer.start_as_current_span(method, context=context, kind=SpanKind.CLIENT,
                                            attributes={
            "http.request.method": method, "server.address": host, "server.port": port,
            "url.full": f"{scheme}://{host}:{port}{path.split('?')[0]}"}) as span:
        yield Call(span)
