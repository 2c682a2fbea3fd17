"""A tiny HTTP server for worker processes: /health and Prometheus /metrics, and their figures.

Its /metrics has what every process's has: the OTel request-duration histogram of the requests
it serves (its /health probes; scrapes are not timed, as on the API), the process's own
figures, and its PostgreSQL pool's saturation when it holds one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import psycopg
from psycopg_pool.base import BasePool

from infra.metrics import CONTENT_TYPE, Histogram, families_of, pool_figures, render

Probe = Callable[[], dict[str, object]]
Metrics = Callable[[], dict[str, float]]


def serve(host: str, port: int, name: str, probe: Probe, metrics: Metrics,
          pools: Sequence[BasePool] = ()) -> ThreadingHTTPServer:
    """Serve health and metrics on a daemon thread; the caller keeps the server to shut it.
    ``pools``: the process's PostgreSQL pools, whose use /metrics shows."""
    histogram = Histogram()

    def figures() -> bytes:
        found = metrics()
        for pool in pools:
            found.update(pool_figures(pool))
        return render([histogram.family(), *families_of(found)])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/health"):
                began = time.perf_counter()
                report = probe()
                body = msgspec.json.encode({"service": name, **report})
                status = 200 if report.get("status") == "healthy" else 503
                self._send(status, "application/json", body)
                histogram.observe("GET", "/health", status, time.perf_counter() - began)
            elif self.path.startswith("/metrics"):
                self._send(200, CONTENT_TYPE, figures())
            else:
                self._send(404, "application/json", b'{"code":"not_found"}')

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"{name}-health", daemon=True).start()
    return server


class Figures:
    """Database figures for a probe: one kept connection, read at most once per ``ttl`` seconds.

    Health is polled; this keeps a poll to a dictionary lookup most of the time, and a
    PostgreSQL that is down to one failed connect per ``ttl`` instead of one per request.
    """

    def __init__(self, database_url: str, read: Callable[[psycopg.Connection], dict[str, Any]],
                 ttl: float = 1.0) -> None:
        self.database_url, self.read, self.ttl = database_url, read, ttl
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._value: dict[str, Any] = {}
        self._at = -ttl

    def get(self) -> dict[str, Any]:
        """The figures, or ``{"error": ...}`` when the database cannot be read."""
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                self._value = self._refresh()
                self._at = time.monotonic()
            return self._value

    def _refresh(self) -> dict[str, Any]:
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = psycopg.connect(self.database_url, autocommit=True,
                                             connect_timeout=3)
            return self.read(self._conn)
        except psycopg.Error as exc:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            return {"error": f"database: {exc}"}
