"""The cost of request logging, metrics and tracing on the authenticated GET of an organization
over HTTP: the API under granian started once per configuration (all off, each alone on, all
on), wrk against GET /v1/organizations/{id} with an API key, the configurations' runs
interleaved over rounds (each round in the other order) so the shared machine's load falls on
all alike; req/s (median of the rounds) beside the all-off baseline, with the ratio.

Tracing exports for real: OTLP over HTTP to a local sink in this process that parses each
export and counts its spans (TRACING_SAMPLE_RATIO=1, every request traced).

Then, in process: the hooks' cost with tracing off, one span's with it on, and the same GET
as direct ASGI calls on one app with tracing on and off in alternate rounds.

    python -m bench.tracing [--seconds 5] [--rounds 3] [--workers 2] [--connections 32]
                            [--requests 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import timeit
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
from litestar.testing import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from api.app import create_app
from bench import serving, telemetry, wrk
from bench.common import private_environment, spawn
from bench.run import free_port, stop, wait_ready
from infra import tracing
from infra.settings import Settings

# name: (ENABLE_REQUEST_LOG, ENABLE_METRICS, tracing)
CONFIGS: dict[str, tuple[bool, bool, bool]] = {
    "all off": (False, False, False),
    "request log only": (True, False, False),
    "metrics only": (False, True, False),
    "tracing only": (False, False, True),
    "all on": (True, True, True),
}
WARM_S = 2  # a restarted API's caches and pools filled before the measured run


class Sink:
    """An OTLP/HTTP trace receiver that answers 200 and counts the spans it was sent."""

    def __init__(self) -> None:
        self.spans = 0
        self.lock = threading.Lock()

    def add(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        found = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        with self.lock:
            self.spans += found


@contextmanager
def sink_on(port: int) -> Iterator[Sink]:
    sink = Sink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            sink.add(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()


def env_of(config: tuple[bool, bool, bool], sink_port: int) -> dict[str, str]:
    request_log, metrics, traced = config
    return {"ENABLE_REQUEST_LOG": str(request_log).lower(), "ENABLE_METRICS": str(metrics).lower(),
            "TRACING_EXPORTER": "otlp" if traced else "off", "TRACING_SAMPLE_RATIO": "1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}"}


def measure(settings: Settings, args: argparse.Namespace, log: Path,
            sink: Sink, sink_port: int) -> dict[str, list[wrk.Load]]:
    """Each configuration's wrk runs, one per round, each on a freshly started API."""
    results: dict[str, list[wrk.Load]] = {name: [] for name in CONFIGS}
    found: serving.Tenant | None = None
    spans: dict[str, int] = dict.fromkeys(CONFIGS, 0)
    for round_ in range(args.rounds):
        order = list(CONFIGS) if round_ % 2 == 0 else list(reversed(CONFIGS))
        for name in order:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            api = spawn(settings, "api", log, PORT=str(port), API_WORKERS=str(args.workers),
                        **serving.ROOMY_ENV, **env_of(CONFIGS[name], sink_port))
            try:
                wait_ready(base, log)
                found = found or serving.tenant(base)
                path = f"path:/v1/organizations/{found.organization_id}"
                wrk.run(base, found.key, path, WARM_S, args.connections)
                before = sink.spans
                load = wrk.run(base, found.key, path, args.seconds, args.connections)
            finally:
                stop([api])  # SIGTERM: the last spans are exported as the workers end
            spans[name] += sink.spans - before
            results[name].append(load)
            print(f"  round {round_ + 1} {name:<17} {load.rate:8.0f} req/s"
                  f"  p50 {load.p50_ms:6.2f} ms  p99 {load.p99_ms:6.2f} ms"
                  f"  non-2xx {load.non_2xx}", flush=True)
    print(f"  spans received by the OTLP sink: {spans}")
    return results


def report(results: dict[str, list[wrk.Load]]) -> list[str]:
    base = statistics.median(r.rate for r in results["all off"])
    lines = []
    for name, loads in results.items():
        rate = statistics.median(r.rate for r in loads)
        p50 = statistics.median(r.p50_ms for r in loads)
        p99 = statistics.median(r.p99_ms for r in loads)
        lines.append(f"  {name:<17} {rate:8.0f} req/s (p50 {p50:5.2f} ms, p99 {p99:6.2f} ms)"
                     f" | all off {base:8.0f} req/s | ratio {rate / base:.3f}")
    return lines


def in_process(settings: Settings, sink_port: int, requests: int, rounds: int) -> list[str]:
    """The same GET as direct ASGI calls on one app (no HTTP client or server in the figure),
    rounds alternating tracing on and off on that app (the hooks see no tracer when off), so
    nothing else differs: process CPU per request, the export thread's included."""
    traced = msgspec.structs.replace(
        settings, tracing_exporter="otlp", enable_request_log=False, enable_metrics=False,
        otel_exporter_otlp_endpoint=f"http://127.0.0.1:{sink_port}")
    tracing.setup(traced, "chronicle-bench")
    tracer = tracing.STATE.tracer
    app = create_app(traced)
    results: dict[str, list[tuple[float, float, float]]] = {"on": [], "off": []}
    try:
        with TestClient(app, base_url="https://bench.local") as client:
            org_id, key = telemetry.tenant(client)
            scope = telemetry.scope_for(f"/v1/organizations/{org_id}", key)
            client.blocking_portal.call(telemetry.per_request, app, scope, 300)
            for i in range(rounds):
                for name in (("on", "off") if i % 2 == 0 else ("off", "on")):
                    tracing.STATE.tracer = tracer if name == "on" else None
                    results[name].append(client.blocking_portal.call(
                        telemetry.per_request, app, scope, requests))
                    tracing.STATE.tracer = tracer
                    tracing.flush()  # this round's spans exported before the next round
    finally:
        tracing.shutdown()
    lines = [f"  in process, tracing on vs off, {rounds} rounds x {requests} requests:"]
    for i, what in ((0, "process CPU"), (2, "wall")):
        on, off = (statistics.median(r[i] for r in results[k]) for k in ("on", "off"))
        lines.append(f"    {what + '/request (median):':<28} on {on:7.1f} us | off {off:7.1f} us"
                     f" | on - off {on - off:6.1f} us | on/off {on / off:.3f}")
    return lines


def pieces(settings: Settings, n: int = 20_000, rounds: int = 7) -> list[str]:
    """In process, the least disturbed of ``rounds``: what tracing's hooks cost a request when
    it is off (a read's span helper, the context's traceparent, a log line's trace id), and
    one span when it is on (the SDK's start and end, into an exporter that drops it)."""

    class Dropped(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    def hooks() -> None:
        with tracing.db("SELECT", "read model"):
            tracing.current_traceparent()
            tracing.trace_id()

    tracing.shutdown()
    off = min(timeit.repeat(hooks, number=n, repeat=rounds)) / n * 1e6
    tracing.setup(settings, "chronicle-bench", Dropped())
    try:
        on = min(timeit.repeat(hooks, number=n // 10, repeat=rounds)) / (n // 10) * 1e6
    finally:
        tracing.shutdown()
    return [f"  in process: tracing's hooks on a request with tracing off {off:.2f} us;"
            f" with it on, one span with those hooks inside {on:.1f} us"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="per measured wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="API workers (API_WORKERS)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=2000, help="per in-process round")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp()) / "bench-tracing.log"
    sink_port = free_port()
    with private_environment() as settings, sink_on(sink_port) as sink:
        workers = [spawn(settings, p, log, RELAY_PORT=str(free_port()),
                         PROJECTOR_PORT=str(free_port())) for p in ("relay", "projector")]
        try:
            print(f"== request log, metrics and tracing on and off: GET /v1/organizations/{{id}}"
                  f" (API key), granian {args.workers} workers, wrk {args.connections}"
                  f" connections, {args.seconds} s a run, {args.rounds} rounds")
            results = measure(settings, args, log, sink, sink_port)
            print("== median of the rounds, against all off")
            for line in [*report(results), *pieces(settings),
                         *in_process(settings, sink_port, args.requests, args.rounds)]:
                print(line, flush=True)
        finally:
            stop(workers)


if __name__ == "__main__":
    main()
