"""The outermost ASGI layer: each request's duration in the Prometheus histogram, its record in
the request log, and its scope in the logs' context; and the figures GET /metrics answers.

Recorded after the response was sent, from what the scope holds by then (the route template,
the caller the guards set), so nothing here runs before the route and nothing waits: the
record goes to an in-memory buffer (infra/requestlog.py). ``/metrics`` itself is neither
timed nor logged; health probes are timed but not logged (they would be most of the log).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, cast

from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from psycopg_pool import AsyncConnectionPool

from api.platform.middleware import ensure_request_id
from domain.limits import MAX_USER_AGENT
from infra import logs, tracing
from infra.metrics import Family, Histogram, Snapshots, families_of, simple
from infra.requestlog import ApiRequest, RequestLog
from infra.settings import Settings
from infra.streamhub import Hub
from projections.status import Stage, pipeline_async

METRICS_PATH = "/metrics"
SNAPSHOT_EVERY_S = 1.0
GAUGE_MAX_AGE_S = 30.0  # another worker's gauges older than this are a dead worker's
PIPELINE_TIMEOUT_S = 2.0


class Telemetry:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.metrics_on = settings.enable_metrics
        self.histogram = Histogram()
        self.snapshots = Snapshots(settings.metrics_dir)
        self.sink: RequestLog | None = None  # the container's, set on startup when enabled
        self.hub: Hub | None = None  # the live streams' hub, set on startup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        arrived = time.time()
        ensure_request_id(scope)
        token = logs.REQUEST.set(scope)  # type: ignore[arg-type]
        sent = [500, 0]  # status, body bytes: what the client got

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.body":
                sent[1] += len(message.get("body", b""))
            elif message["type"] == "http.response.start":
                sent[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            logs.REQUEST.reset(token)
            self.done(cast("HTTPScope", scope), sent[0], sent[1], arrived,
                      time.perf_counter() - started)

    def done(self, scope: HTTPScope, status: int, bytes_out: int, arrived: float,
             seconds: float) -> None:
        route: str = scope.get("path_template", "")
        if self.metrics_on:
            self.histogram.observe(scope["method"], route, status, seconds)
        if self.sink is not None and not scope["path"].startswith("/health"):
            self.sink.record(entry(scope, route, status, bytes_out, arrived, seconds))

    def own_figures(self, pool: AsyncConnectionPool | None) -> dict[str, float]:
        """This worker's counters, and its gauges labelled with its pid."""
        figures: dict[str, float] = {}
        if self.sink is not None:
            figures.update(request_log_dropped_total=self.sink.dropped,
                           request_log_sent_total=self.sink.sent)
            figures[f'request_log_pending{{pid="{os.getpid()}"}}'] = self.sink.pending
        if self.hub is not None:
            figures.update(streams_fanned_out_total=self.hub.delivered,
                           streams_dropped_total=self.hub.dropped)
            figures[f'streams_open{{pid="{os.getpid()}"}}'] = self.hub.count
        if pool is not None:
            figures.update(pool_figures(pool))
        return figures

    async def keep_snapshot(self, pool: AsyncConnectionPool) -> None:
        """Write this worker's snapshot for its siblings' scrapes, once a second."""
        while True:
            await asyncio.sleep(SNAPSHOT_EVERY_S)
            self.snapshots.write(self.histogram, self.own_figures(pool))

    async def families(self, pool: AsyncConnectionPool) -> list[Family]:
        """Every worker's figures added up (gauges per pid), and the pipeline's lag."""
        histogram = Histogram()
        histogram.merge(self.histogram.series)
        figures = self.own_figures(pool)
        now = time.time()
        for snap in self.snapshots.others():
            histogram.merge({(m, r, s): c for m, r, s, c in snap.series})
            for key, value in snap.counters.items():
                if key.endswith("_total"):
                    figures[key] = figures.get(key, 0.0) + value
                elif now - snap.at < GAUGE_MAX_AGE_S:
                    figures[key] = value
        for stage in await _stages(pool):
            if stage.name == "relay":
                figures["relay_lag"] = stage.lag
            else:
                figures[f'projection_lag{{projection="{stage.name}"}}'] = stage.lag
            figures[f'pipeline_waiting_seconds{{stage="{stage.name}"}}'] = stage.waiting_s
        worker = simple("chronicle_worker_info", "gauge", "The API worker that answered this scrape",
                        1, pid=os.getpid())
        return [histogram.family(), *families_of(figures), worker]


async def _stages(pool: AsyncConnectionPool) -> list[Stage]:
    """The pipeline's stages, or none when the database cannot say in time: a scrape still
    answers the process's own figures (and the lag series go missing, which alerts see)."""
    try:
        return await asyncio.wait_for(pipeline_async(pool), PIPELINE_TIMEOUT_S)
    except Exception:  # psycopg's errors or the timeout alike: the figures are skipped
        return []


def pool_figures(pool: AsyncConnectionPool) -> dict[str, float]:
    """psycopg_pool's own figures: saturation is the share of the maximum in use."""
    stats = pool.get_stats()
    pid = f'{{pid="{os.getpid()}"}}'
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {f"db_pool_size{pid}": size, f"db_pool_available{pid}": idle,
            f"db_pool_max{pid}": stats.get("pool_max", pool.max_size),
            f"db_pool_requests_waiting{pid}": stats.get("requests_waiting", 0),
            f"db_pool_saturation{pid}": (size - idle) / max(pool.max_size, 1)}


def entry(scope: HTTPScope, route: str, status: int, bytes_out: int, arrived: float,
          seconds: float) -> ApiRequest:
    state: dict[str, Any] = scope["state"]
    # With tracing on, the request's span's trace (which an incoming traceparent began).
    agent, length, trace = "", 0, tracing.trace_id()
    for name, value in scope["headers"]:
        if name == b"user-agent":
            agent = value[:MAX_USER_AGENT].decode("latin-1")
        elif name == b"content-length" and value.isdigit():
            length = int(value)
        elif name == b"traceparent" and not trace:
            trace = logs.trace_id_of(((name, value),))
    actor = state.get("actor")
    client = scope.get("client")
    # Positional, and the organization's UUID as it is: this runs once per request.
    return ApiRequest(
        arrived, scope["method"], route, status, seconds * 1000, state.get("organization_id"),
        actor.kind if actor is not None else "", actor.id if actor is not None else "",
        client[0] if client else "", agent, length, bytes_out, state.get("request_id", ""),
        trace, status == 429)
