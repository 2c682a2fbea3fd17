"""Traces across processes, with an in-memory exporter: one write over HTTP is one trace from
the server span through the command, the store, the relay, a projector and the webhook call
(real PostgreSQL, Kafka, relay, projectors and sender; a local receiver); sampling at 0 keeps
no span; tracing off keeps none and the Kafka header stays valid; span names are templates."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from infra import tracing
from infra.eventstore import EventStore, datastore_from_url
from infra.projector.runner import Runner
from infra.relay import Relay, headers
from infra.settings import Settings
from infra.signing import DEV_ENCRYPTION_KEY
from infra.webhook_secrets import WebhookSecrets
from infra.webhooks.sender import Sender
from infra.webhooks.signer import Signer
from projections.registry import OWN_PROCESS, PROJECTIONS
from projections.webhook_fanout import NAME as FANOUT
from tests.conftest import deprovision, provision, wait_until
from tests.integration.test_api_keys import new_org
from tests.integration.webhook_receiver import Receiver

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Stack:
    """The relay, the projectors a write needs and the webhook sender, as threads here: the
    one in-memory exporter sees every process's spans."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = EventStore(datastore_from_url(settings.database_url, pool_size=2))
        self.relay = Relay(settings, self.store)
        self.runners = [Runner(settings, PROJECTIONS[n].build(settings))
                        for n in ("organizations", "webhook_endpoints")]
        self.runners.append(Runner(settings, OWN_PROCESS[FANOUT].build(settings)))
        signer = Signer(WebhookSecrets(settings.encryption_key or DEV_ENCRYPTION_KEY))
        self.sender = Sender(settings, signer, lambda *_: None)
        self.workers = [self.relay, *self.runners, self.sender]
        self.threads = [threading.Thread(target=w.run, daemon=True) for w in self.workers]

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        for t in self.threads:
            t.join(timeout=30)
        self.store.close()


class Kept(InMemorySpanExporter):
    """Keeps recording after a provider is shut down (the tests turn tracing off and on)."""

    def shutdown(self) -> None:
        return


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    exported = Kept()
    yield exported
    tracing.shutdown()


@pytest.fixture(scope="module")
def stack(exporter: InMemorySpanExporter) -> Iterator[Stack]:
    settings = provision(webhook_allowed_hosts="127.0.0.0/8", webhook_timeout_s=2.0)
    tracing.setup(settings, "chronicle-test", exporter)
    s = Stack(settings)
    for t in s.threads:
        t.start()
    yield s
    s.stop()
    deprovision(settings)


def of_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans()
            if s.context is not None and s.context.trace_id == trace_id]


def server_span(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [s for s in exporter.get_finished_spans()
             if s.kind == SpanKind.SERVER and s.name == name]
    assert found, sorted({s.name for s in exporter.get_finished_spans()})
    return found[-1]


def hooked_org(api: TestClient[Any], receiver: Receiver, path: str) -> dict[str, Any]:
    org = new_org(api)
    created = api.post("/v1/webhook-endpoints", json={
        "url": f"http://127.0.0.1:{receiver.port}{path}", "eventTypes": ["organization.*"],
        "organizationId": org["id"]})
    assert created.status_code == 201, created.text
    receiver.secrets.append(created.json()["secret"])
    return org


def test_one_write_over_http_is_one_trace_through_projector_and_webhook(
        stack: Stack, api: TestClient[Any], receiver: Receiver,
        exporter: InMemorySpanExporter) -> None:
    org = hooked_org(api, receiver, "/traced")
    renamed = api.patch(f"/v1/organizations/{org['id']}", json={"name": "Traced"})
    assert renamed.status_code == 200, renamed.text
    http = server_span(exporter, "PATCH /v1/organizations/{organization_id}")
    assert http.context is not None
    trace_id = http.context.trace_id
    wait_until(lambda: receiver.accepted("/traced"), timeout=30, message="the delivery")
    sent = receiver.accepted("/traced")[-1].headers["traceparent"]
    assert TRACEPARENT.match(sent)
    assert int(sent.split("-")[1], 16) == trace_id

    def kinds() -> set[tuple[SpanKind, str]]:
        return {(s.kind, s.name.split(" ")[0]) for s in of_trace(exporter, trace_id)}

    wanted = {(SpanKind.SERVER, "PATCH"), (SpanKind.INTERNAL, "command"),
              (SpanKind.CLIENT, "INSERT"), (SpanKind.PRODUCER, "send"),
              (SpanKind.CONSUMER, "process"), (SpanKind.CLIENT, "POST")}
    def groups() -> set[str]:
        return {str(s.attributes["messaging.consumer.group.name"]).rsplit(".", 1)[1]
                for s in of_trace(exporter, trace_id)
                if s.kind == SpanKind.CONSUMER and s.attributes}

    wait_until(lambda: wanted <= kinds(), timeout=30, message=f"the trace's spans {kinds()}")
    # The fan-out's span ends just after its commit, so the sender's POST may end first.
    wait_until(lambda: groups() >= {"organizations", FANOUT}, timeout=30,
               message=f"the projections' spans {groups()}")
    spans = of_trace(exporter, trace_id)
    services = {s.resource.attributes["service.name"] for s in spans}
    assert services == {"chronicle-test"}
    post = next(s for s in spans if s.name == "POST")
    assert post.attributes is not None
    assert post.attributes["http.response.status_code"] == 200


def test_an_incoming_traceparent_is_the_parent_and_names_are_route_templates(
        api: TestClient[Any], exporter: InMemorySpanExporter) -> None:
    org = new_org(api)
    # new_org's wait is bounded; on a loaded machine the read model may still lack the org.
    wait_until(lambda: api.get(f"/v1/organizations/{org['id']}").status_code == 200,
               timeout=60, message="the organization in the read model")
    read = api.get(f"/v1/organizations/{org['id']}", headers={"traceparent": INCOMING})
    assert read.status_code == 200
    span = server_span(exporter, "GET /v1/organizations/{organization_id}")
    assert span.context is not None
    assert span.parent is not None
    assert f"{span.context.trace_id:032x}" == INCOMING.split("-")[1]
    assert f"{span.parent.span_id:016x}" == INCOMING.split("-")[2]
    assert span.attributes is not None
    assert span.attributes["http.route"] == (
        "/v1/organizations/{organization_id}")
    assert (span.attributes["http.request.method"], span.attributes["http.response.status_code"],
            span.attributes["url.scheme"]) == ("GET", 200, "https")
    named = {s.name for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER}
    assert not any(org["id"] in n for n in named), named

def test_a_read_model_query_has_a_postgresql_span_in_the_request_trace(
        api: TestClient[Any], exporter: InMemorySpanExporter) -> None:
    assert api.get("/v1/organizations", params={"limit": 1}).status_code == 200
    span = server_span(exporter, "GET /v1/organizations")
    assert span.context is not None
    reads = [s for s in of_trace(exporter, span.context.trace_id) if s.kind == SpanKind.CLIENT]
    assert [(s.name, s.attributes and s.attributes["db.system"]) for s in reads] == [
        ("SELECT read model", "postgresql")]
    assert reads[0].parent is not None
    assert reads[0].parent.span_id == span.context.span_id
    created = api.post("/v1/organizations", json={
        "name": "Uncached", "slug": f"uncached-{uuid.uuid4().hex[:10]}"}).json()
    api.get(f"/v1/organizations/{created['id']}", params={"min_position": created["position"]})
    got = server_span(exporter, "GET /v1/organizations/{organization_id}")
    assert got.context is not None
    assert "SELECT organizations" in {s.name for s in of_trace(exporter, got.context.trace_id)}


def test_sampling_ratio_zero_records_no_span_yet_the_event_carries_its_context(
        stack: Stack, api: TestClient[Any], exporter: InMemorySpanExporter) -> None:
    org = new_org(api)
    tracing.setup(msgspec.structs.replace(stack.settings, tracing_sample_ratio=0.0),
                  "chronicle-test", exporter)
    try:
        exporter.clear()
        renamed = api.patch(f"/v1/organizations/{org['id']}", json={"name": "Unsampled"}).json()
        api.get(f"/v1/organizations/{org['id']}", params={"min_position": renamed["position"]})
        record = stack.store.read(renamed["position"] - 1, 1)[0]
        carried = record.envelope.traceparent
        assert isinstance(carried, str)
        found = TRACEPARENT.match(carried)
        assert found is not None
        assert int(found.group(3), 16) & 1 == 0, "flagged not sampled"
        # Only the earlier, sampled create's relay and projector spans may still arrive late.
        kept = [s for s in exporter.get_finished_spans()
                if (s.context is not None and f"{s.context.trace_id:032x}" == found.group(1))
                or s.name.startswith(("PATCH ", "GET ", "command "))]
        assert kept == []
    finally:
        tracing.setup(stack.settings, "chronicle-test", exporter)


def test_tracing_off_records_nothing_and_the_kafka_header_stays_valid(
        stack: Stack, api: TestClient[Any], exporter: InMemorySpanExporter) -> None:
    org = new_org(api)
    tracing.shutdown()
    try:
        exporter.clear()
        renamed = api.patch(f"/v1/organizations/{org['id']}", json={"name": "Untraced"}).json()
        api.get(f"/v1/organizations/{org['id']}", params={"min_position": renamed["position"]})
        record = stack.store.read(renamed["position"] - 1, 1)[0]
        assert record.envelope.traceparent is msgspec.UNSET
        header = dict(headers(record))["traceparent"]
        assert isinstance(header, bytes)
        assert TRACEPARENT.match(header.decode())
        assert exporter.get_finished_spans() == ()
    finally:
        tracing.setup(stack.settings, "chronicle-test", exporter)
