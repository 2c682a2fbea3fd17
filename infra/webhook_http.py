"""One webhook POST to a destination the SSRF guard checked: the connection goes to the
checked address (Host and TLS SNI name the host), redirects are never followed (a 3xx is a
failed attempt), the whole exchange is bounded by a timeout, and at most 1 KiB of the answer
is kept."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from typing import NamedTuple

from infra.ssrf import Target

EXCERPT_BYTES = 1024


class Answer(NamedTuple):
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    excerpt: str
    error: str
    seconds: float


class _Pinned(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self.address, self.context = target.address, context

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.context.wrap_socket(raw, server_hostname=self.host)


_TLS = ssl.create_default_context()


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    started = time.monotonic()
    conn = (_PinnedTLS(target, timeout, _TLS) if target.scheme == "https"
            else _Pinned(target, timeout))
    # The socket timeout bounds each read; this bounds the whole exchange, so a receiver that
    # drips its answer a byte at a time cannot hold an attempt past its lease.
    deadline = threading.Timer(timeout, _abort, (conn,))
    deadline.start()
    try:
        conn.request("POST", target.path, body=body, headers={
            **headers, "Content-Type": "application/json", "User-Agent": "Chronicle-Webhooks/1"})
        response = conn.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
        return Answer(response.status, excerpt, "", time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        late = isinstance(exc, TimeoutError) or time.monotonic() - started >= timeout
        error = f"timeout: no answer within {timeout:g} s" if late else f"{type(exc).__name__}: {exc}"
        return Answer(None, "", error[:EXCERPT_BYTES], time.monotonic() - started)
    finally:
        deadline.cancel()
        conn.close()


def _abort(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
