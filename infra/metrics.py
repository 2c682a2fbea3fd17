"""Prometheus text exposition (format 0.0.4) and the HTTP request-duration histogram.

Written here rather than with prometheus_client: recording a request is one dict lookup, one
bisect and two additions (about a microsecond), and several granian workers are merged from
snapshot files each worker writes once a second (``Snapshots``) instead of an mmap write
per observation.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import msgspec
from psycopg_pool.base import BasePool

# The OpenTelemetry advice for http.server.request.duration, in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
DURATION = "http_server_request_duration_seconds"
# OTel's http.request.method: the known methods, anything else as _OTHER (a bounded label).
METHODS = frozenset({"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
                     "TRACE"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

SeriesKey = tuple[str, str, int]  # method, route template, status code


class Family(NamedTuple):
    """One metric family: its samples as (suffix, labels, value), labels rendered or empty."""

    name: str
    kind: str  # counter, gauge or histogram
    help: str
    samples: list[tuple[str, str, float]]


def labels(**values: object) -> str:
    if not values:
        return ""
    inner = ",".join(f'{k}="{escape(str(v))}"' for k, v in values.items())
    return "{" + inner + "}"


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def render(families: Iterable[Family]) -> bytes:
    lines: list[str] = []
    for f in families:
        lines.append(f"# HELP {f.name} {escape(f.help)}")
        lines.append(f"# TYPE {f.name} {f.kind}")
        lines.extend(f"{f.name}{suffix}{lbl} {number(v)}" for suffix, lbl, v in f.samples)
    return ("\n".join(lines) + "\n").encode()


def simple(name: str, kind: str, help_text: str, value: float, **lbl: object) -> Family:
    return Family(name, kind, help_text, [("", labels(**lbl), float(value))])


class Histogram:
    """The request-duration histogram of one process: per series, bucket counts (not yet
    cumulative, the last one +Inf), then the sum of the observed seconds."""

    def __init__(self) -> None:
        self.series: dict[SeriesKey, list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method if method in METHODS else "_OTHER", route, status)
        counts = self.series.get(key)
        if counts is None:
            counts = self.series[key] = [0.0] * (len(BUCKETS) + 2)
        counts[bisect_left(BUCKETS, seconds)] += 1
        counts[-1] += seconds

    def merge(self, other: Mapping[SeriesKey, list[float]]) -> None:
        for key, counts in other.items():
            mine = self.series.setdefault(key, [0.0] * (len(BUCKETS) + 2))
            for i, n in enumerate(counts):
                mine[i] += n

    def family(self) -> Family:
        samples: list[tuple[str, str, float]] = []
        for (method, route, status), counts in sorted(self.series.items()):
            base = f'http_request_method="{method}",http_route="{escape(route)}",' \
                   f'http_response_status_code="{status}"'
            running = 0.0
            for bound, n in zip((*BUCKETS, math.inf), counts, strict=False):
                running += n
                samples.append(("_bucket", f'{{{base},le="{number(bound)}"}}', running))
            samples.append(("_sum", f"{{{base}}}", counts[-1]))
            samples.append(("_count", f"{{{base}}}", running))
        return Family(DURATION, "histogram",
                      "Duration of HTTP server requests (OpenTelemetry http.server.request.duration)",
                      samples)


class Snapshot(msgspec.Struct, array_like=True):
    """What one API worker has counted: written by it, read by whichever worker is scraped."""

    pid: int
    at: float  # unix time of writing
    series: list[tuple[str, str, int, list[float]]]
    counters: dict[str, float]


class Snapshots:
    """The API workers of one server share ``directory``: each writes its snapshot there, and a
    scrape adds up every file but its own (its own figures it has live). A worker that died
    keeps its file, so counters never go down while the server runs; ``chronicle api``
    empties the directory as it starts."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory) if directory else None

    def write(self, histogram: Histogram, counters: Mapping[str, float]) -> None:
        if self.directory is None:
            return
        snap = Snapshot(os.getpid(), time.time(),
                        [(m, r, s, c) for (m, r, s), c in histogram.series.items()],
                        dict(counters))
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".snap-")
        with os.fdopen(fd, "wb") as out:
            out.write(msgspec.msgpack.encode(snap))
        os.replace(tmp, self.directory / f"{os.getpid()}.snapshot")

    def others(self) -> list[Snapshot]:
        if self.directory is None:
            return []
        found = []
        for path in self.directory.glob("*.snapshot"):
            if path.stem == str(os.getpid()):
                continue
            try:
                found.append(msgspec.msgpack.decode(path.read_bytes(), type=Snapshot))
            except (OSError, msgspec.DecodeError):  # being replaced, or a stray file
                continue
        return found


def prepare(directory: str) -> None:
    """A fresh snapshot directory for a server about to start its workers."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.snapshot"):
        stale.unlink(missing_ok=True)


# The figures' help texts, by name without the chronicle_ prefix.
HELP = {
    "relay_position": "The last event store position the relay published",
    "relay_head": "The event store's newest position",
    "relay_lag": "Events in the store the relay has not published yet",
    "relay_stuck_at": "The first position of the batch that keeps failing (0: none)",
    "relay_published_total": "Events the relay published to Kafka",
    "relay_failures_total": "Relay batches Kafka refused",
    "projector_applied_total": "Events (or records) a projection applied",
    "projector_rebuilds_total": "Consumers a projection threw away and built again",
    "projector_failures_total": "Batches a projection failed to apply",
    "projection_parked": "Events parked in the dead-letter table",
    "projection_lag": "Store positions between the head and what a projection caught up to",
    "projection_checkpoint": "The store position a projection has caught up to",
    "consumer_lag": "Kafka messages between a projection's next offset and the partition's end",
    "request_log_dropped_total": "Request-log records dropped (buffer full, Kafka away or refusing)",
    "request_log_sent_total": "Request-log records Kafka acknowledged",
    "request_log_pending": "Request-log records in process and batches in librdkafka, per worker",
    "db_pool_size": "Connections the worker's PostgreSQL pool holds",
    "db_pool_available": "Idle connections in the worker's pool",
    "db_pool_max": "The most connections the worker's pool may hold",
    "db_pool_requests_waiting": "Requests waiting for a connection of the worker's pool",
    "db_pool_saturation": "Share of the worker's pool maximum in use (0 to 1)",
    "pipeline_waiting_seconds": "How long the oldest event a stage has not passed has waited",
    "streams_open": "Live event streams (SSE and WebSocket) a worker holds open",
    "streams_fanned_out_total": "Events fanned out by the hubs (of organizations with a stream open)",
    "streams_dropped_total": "Live streams closed for falling too far behind (slow_consumer)",
}


def families_of(figures: Mapping[str, float], prefix: str = "chronicle_") -> list[Family]:
    """Flat ``name{labels} -> value`` figures as families: ``*_total`` a counter, else a gauge."""
    grouped: dict[str, Family] = {}
    for key, value in figures.items():
        name, _brace, rest = key.partition("{")
        lbl = "{" + rest if rest else ""
        family = grouped.get(name)
        if family is None:
            family = grouped[name] = Family(
                prefix + name, "counter" if name.endswith("_total") else "gauge",
                HELP.get(name, name.replace("_", " ")), [])
        family.samples.append(("", lbl, float(value)))
    return list(grouped.values())


def pool_figures(pool: BasePool) -> dict[str, float]:
    """A PostgreSQL pool's use (psycopg_pool: the API's async pool, a worker's event store
    pool), by pid: what the saturation alert reads is in use / maximum."""
    stats = pool.get_stats()
    pid = f'{{pid="{os.getpid()}"}}'
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {f"db_pool_size{pid}": size, f"db_pool_available{pid}": idle,
            f"db_pool_max{pid}": pool.max_size,
            f"db_pool_requests_waiting{pid}": stats.get("requests_waiting", 0),
            f"db_pool_saturation{pid}": (size - idle) / max(pool.max_size, 1)}
