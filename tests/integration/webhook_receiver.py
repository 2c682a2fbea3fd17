"""A real HTTP receiver for the webhook tests: it verifies every request's Standard Webhooks
signature with its own implementation of the specification, and answers as scripted per path
(a 500 first, a time-out once, a 410, a redirect to a loopback address)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verified(secrets: list[str], headers: dict[str, str], body: bytes) -> bool:
    """True when a v1 entry of webhook-signature is HMAC-SHA256("id.timestamp.body") under one
    of ``secrets`` (whsec_ + base64 key), and the timestamp is within five minutes."""
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "0")
    if abs(time.time() - int(stamp)) > 300:
        return False
    content = f"{msg_id}.{stamp}.".encode() + body
    for secret in secrets:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        want = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        for entry in headers.get("webhook-signature", "").split(" "):
            version, _, sig = entry.partition(",")
            if version == "v1" and hmac.compare_digest(sig, want):
                return True
    return False


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    signed: bool


@dataclass
class Receiver:
    port: int = 0
    secrets: list[str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    # per path: the statuses to answer, in turn ("slow": sleep past the sender's timeout);
    # when spent, 200
    script: dict[str, list[int | str]] = field(default_factory=dict)
    slow_s: float = 2.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str) -> int | str:
        with self.lock:
            turns = self.script.get(path)
            return turns.pop(0) if turns else 200

    def accepted(self, path: str = "/hook") -> list[Received]:
        """2xx-answered requests to ``path``, first per webhook-id (what a receiver that
        de-duplicates keeps), in arrival order."""
        seen: set[str] = set()
        kept: list[Received] = []
        for r in list(self.requests):
            if r.path == path and r.status < 300 and r.headers["webhook-id"] not in seen:
                seen.add(r.headers["webhook-id"])
                kept.append(r)
        return kept


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            decided = receiver.answer(self.path)
            status = 200 if decided == "slow" else int(decided)
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.requests.append(Received(  # on arrival: the order the sender sent in
                self.path, headers, json.loads(body), status,
                verified(receiver.secrets, headers, body)))
            if decided == "slow":
                time.sleep(receiver.slow_s)
            self.send_response(status)
            if status in (301, 302, 307, 308):
                self.send_header("Location", f"http://127.0.0.1:{receiver.port}/evil")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
