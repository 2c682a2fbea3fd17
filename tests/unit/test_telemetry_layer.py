"""The outermost ASGI layer (api/platform/telemetry.py) around a tiny app: what it records of a
request, and the request's fields on the log lines written while it runs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any
from uuid import UUID

from api.platform.telemetry import Telemetry
from domain.envelope import Actor
from infra.logs import JsonFormatter
from infra.requestlog import ApiRequest
from infra.settings import Settings

ORG = UUID(int=5)
TRACE = "0af7651916cd43dd8448eb211c80319c"


class Sink:
    def __init__(self) -> None:
        self.records: list[ApiRequest] = []

    def record(self, entry: ApiRequest) -> None:
        self.records.append(entry)


def call(layer: Telemetry, path: str, headers: list[tuple[bytes, bytes]]) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_message: Any) -> None:
        return

    scope = {"type": "http", "method": "GET", "path": path, "headers": headers,
             "client": ("10.0.0.7", 1234), "state": {}}
    asyncio.run(layer(scope, receive, send))  # type: ignore[arg-type]


async def app(scope: Any, _receive: Any, send: Any) -> None:
    """Routes, authenticates (as the guards would) and logs, then answers 201 with 5 bytes."""
    scope["path_template"] = "/v1/things/{thing_id}"
    scope["state"].update(organization_id=ORG, actor=Actor(kind="api_key", id="k1"))
    logging.getLogger("chronicle.test.layer").warning("inside")
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def test_a_request_is_timed_and_recorded_without_its_credentials() -> None:
    layer, sink = Telemetry(app, Settings()), Sink()
    layer.sink = sink  # type: ignore[assignment]
    call(layer, "/v1/things/1", [(b"authorization", b"Bearer pk_live_secret"),
                                 (b"user-agent", b"x" * 2000), (b"content-length", b"12"),
                                 (b"traceparent", f"00-{TRACE}-b7ad6b7169203331-01".encode())])
    (entry,) = sink.records
    assert (entry.method, entry.route, entry.status) == ("GET", "/v1/things/{thing_id}", 201)
    assert (entry.organization_id, entry.actor_kind, entry.actor_id) == (ORG, "api_key", "k1")
    assert (entry.bytes_in, entry.bytes_out, entry.ip) == (12, 5, "10.0.0.7")
    assert entry.trace_id == TRACE
    assert len(entry.user_agent) == 512
    assert entry.request_id.startswith("req_")
    assert "secret" not in repr(entry)
    assert layer.histogram.series[("GET", "/v1/things/{thing_id}", 201)][-1] > 0


def test_health_probes_are_timed_but_not_logged_and_scrapes_are_neither() -> None:
    layer, sink = Telemetry(app, Settings()), Sink()
    layer.sink = sink  # type: ignore[assignment]
    call(layer, "/health/live", [])
    call(layer, "/metrics", [])
    assert sink.records == []
    assert sum(sum(counts[:-1]) for counts in layer.histogram.series.values()) == 1


def test_a_log_line_written_inside_the_request_names_it() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("chronicle.test.layer")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        call(Telemetry(app, Settings()), "/v1/things/1",
             [(b"x-request-id", b"req-abc"),
              (b"traceparent", f"00-{TRACE}-b7ad6b7169203331-01".encode())])
    finally:
        logger.removeHandler(handler)
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert (line["message"], line["request_id"], line["trace_id"]) == ("inside", "req-abc", TRACE)
    assert line["organization_id"] == str(ORG)
