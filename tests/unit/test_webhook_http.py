"""One webhook POST against a local socket: a redirect is answered, not followed, and a
receiver that drips its answer is cut off at the timeout of the whole exchange."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from infra.ssrf import Target
from infra.webhook_http import post

REDIRECT = b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/evil\r\nContent-Length: 0\r\n\r\n"


@contextmanager
def server(answer: bytes, drip_s: float = 0.0) -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for i in range(len(answer)):
                if stop.is_set():
                    return
                try:
                    conn.sendall(answer[i:i + 1] if drip_s else answer[i:])
                except OSError:
                    return
                if not drip_s:
                    return
                time.sleep(drip_s)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


def target(port: int) -> Target:
    return Target("http", "receiver.test", port, "/in", "127.0.0.1")


def test_a_redirect_is_an_answer_not_a_hop() -> None:
    with server(REDIRECT) as port:
        answer = post(target(port), b"{}", {}, timeout=2)
    assert (answer.status, answer.error) == (302, "")


def test_a_dripping_receiver_is_cut_off_at_the_timeout_of_the_whole_exchange() -> None:
    with server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", drip_s=0.1) as port:
        answer = post(target(port), b"{}", {}, timeout=0.5)
    assert answer.status is None
    assert answer.error.startswith("timeout")
    assert answer.seconds < 1.5
