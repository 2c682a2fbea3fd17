"""infra/tracing.py on its own: off builds nothing and its helpers record nothing; on, a
command's span is the parent its envelopes name; traceparents are W3C; settings are checked."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from commands import runner
from commands.runner import Context, StreamWrite, envelopes
from domain.envelope import SYSTEM, decode, encode
from domain.organization.events import OrganizationRenamed
from infra import logs, tracing
from infra.relay import traceparent
from infra.settings import Settings, SettingsError, load_settings
from tests.unit.test_json_logs import lines_of

W3C = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    tracing.setup(Settings(), "chronicle-unit", exported)
    yield exported
    tracing.shutdown()


def test_tracing_off_builds_no_provider_and_its_helpers_record_nothing() -> None:
    assert tracing.setup(Settings(), "chronicle-unit") is False
    assert not tracing.on()
    assert runner.TRACE_COMMAND is None
    assert tracing.db("SELECT", "t") is tracing.NOTHING
    assert tracing.batch() is tracing.NO_SPANS
    assert (tracing.trace_id(), tracing.current_traceparent()) == ("", "")


def test_a_command_span_is_current_while_it_runs_and_named_after_the_use_case(
        exporter: InMemorySpanExporter) -> None:
    def attempt() -> None:
        return None

    assert runner.TRACE_COMMAND is not None
    with runner.TRACE_COMMAND(attempt) as carried:
        assert W3C.match(carried)
        assert tracing.current_traceparent() == carried
        with tracing.db("INSERT", "chronicle_events"):
            pass
    spans = {s.name: s for s in exporter.get_finished_spans()}
    name = "command test_a_command_span_is_current_while_it_runs_and_named_after_the_use_case"
    assert set(spans) == {name, "INSERT chronicle_events"}
    db, command = spans["INSERT chronicle_events"], spans[name]
    assert db.parent is not None
    assert command.context is not None
    assert db.parent.span_id == command.context.span_id
    assert db.attributes is not None
    assert db.attributes["db.system"] == "postgresql"


def test_an_envelope_carries_the_context_traceparent_and_old_events_decode_without_one() -> None:
    ctx = Context(actor=SYSTEM, request_id="r", traceparent=traceparent("c", str(uuid.uuid4())),
                  clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    write = StreamWrite(uuid.uuid4(), "organization", uuid.uuid4(), 0, [
        OrganizationRenamed(name="N", previous_name="O")])
    carried = envelopes(ctx, [write])[0]
    assert decode(encode(carried)).traceparent == ctx.traceparent
    bare = envelopes(Context(actor=SYSTEM, request_id="r"), [write])[0]
    assert b"traceparent" not in encode(bare)
    assert decode(encode(bare)).traceparent is msgspec.UNSET


def test_the_header_of_an_untraced_event_is_valid_and_flagged_not_sampled() -> None:
    header = traceparent("corr-1", str(uuid.uuid4()))
    assert W3C.match(header)
    assert header.endswith("-00")
    assert tracing.parent(header) is not None
    assert tracing.parent("garbage") is None
    assert tracing.parent(None) is None


def test_only_records_that_carry_a_trace_get_a_span(exporter: InMemorySpanExporter) -> None:
    spans = tracing.batch()
    assert spans.start("send t", SpanKind.PRODUCER, None, {}) == ""
    child = spans.start("send t", SpanKind.PRODUCER,
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", {})
    spans.end()
    assert child.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert [s.name for s in exporter.get_finished_spans()] == ["send t"]


def test_a_sampling_ratio_outside_zero_to_one_or_an_endpoint_without_scheme_is_refused() -> None:
    with pytest.raises(SettingsError, match="TRACING_SAMPLE_RATIO"):
        load_settings({"TRACING_SAMPLE_RATIO": "1.5"})
    with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        load_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"})
    with pytest.raises(SettingsError, match="TRACING_EXPORTER"):
        load_settings({"TRACING_EXPORTER": "jaeger"})
    settings = load_settings({"TRACING_EXPORTER": "otlp", "TRACING_SAMPLE_RATIO": "0.25",
                              "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert (settings.tracing_exporter, settings.tracing_sample_ratio,
            settings.otel_exporter_otlp_endpoint) == ("otlp", 0.25, "http://collector:4318")


def test_with_tracing_on_a_log_line_names_the_active_span_trace_not_the_header(
        exporter: InMemorySpanExporter) -> None:
    incoming = "4bf92f3577b34da6a3ce929d0e0e4736"
    scope = {"state": {"request_id": "req_1"},
             "headers": [(b"traceparent", f"00-{incoming}-00f067aa0ba902b7-01".encode())]}
    token = logs.REQUEST.set(scope)
    try:
        with tracing.db("SELECT", "t"):
            inside = lines_of(lambda logger: logger.info("in a span"))
            active = tracing.trace_id()
    finally:
        logs.REQUEST.reset(token)
    with tracing.db("SELECT", "t"):
        worker = lines_of(lambda logger: logger.info("a worker's span"))
        other = tracing.trace_id()
    assert active != incoming
    assert inside[0]["trace_id"] == active
    assert worker[0]["trace_id"] == other
    assert "trace_id" not in lines_of(lambda logger: logger.info("no span"))[0]
