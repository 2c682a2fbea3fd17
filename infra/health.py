"""A tiny HTTP server for worker processes: /health and Prometheus /metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec

Probe = Callable[[], dict[str, object]]
Metrics = Callable[[], dict[str, float]]


def serve(host: str, port: int, name: str, probe: Probe, metrics: Metrics) -> ThreadingHTTPServer:
    """Serve health and metrics on a daemon thread; the caller keeps the server to shut it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/health"):
                report = probe()
                body = msgspec.json.encode({"service": name, **report})
                self._send(200 if report.get("status") == "healthy" else 503,
                           "application/json", body)
            elif self.path.startswith("/metrics"):
                lines = [f"chronicle_{k} {v}" for k, v in metrics().items()]
                self._send(200, "text/plain; version=0.0.4", ("\n".join(lines) + "\n").encode())
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
