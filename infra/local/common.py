"""Helpers shared by the local service and app launchers: layout, waiting, probing, stopping."""

from __future__ import annotations

import os
import signal
import socket
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.settings import Settings

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class StartError(Exception):
    """Something did not come up (or go down); carries the log whose tail explains why."""

    def __init__(self, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.log = log


@dataclass(frozen=True)
class Layout:
    """Where local state lives: ``var/`` (settings.data_dir) and its run/ and log/ folders."""

    var: Path

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        return cls(Path(settings.data_dir).resolve())

    @property
    def run(self) -> Path:
        return self.var / "run"

    @property
    def log(self) -> Path:
        return self.var / "log"

    def marker(self, name: str) -> Path:
        """The file saying this checkout started ``name`` (so only it may stop it)."""
        return self.run / f"{name}.started"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return "(no log file)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(log is empty)"


def wait_until(probe: Callable[[], bool], seconds: float, what: str, log: Path | None,
               alive: Callable[[], bool] | None = None) -> None:
    """Poll ``probe`` until it holds; fail early if ``alive`` says the process has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        if alive is not None and not alive():
            raise StartError(f"{what} exited during startup", log)
        time.sleep(0.2)
    raise StartError(f"{what} did not answer within {seconds:.0f} s", log)


def exchange(host: str, port: int, request: bytes, size: int) -> bytes:
    """Send ``request`` and read up to ``size`` bytes; b'' when nothing answers."""
    try:
        with socket.create_connection((host, port), timeout=1.5) as sock:
            sock.sendall(request)
            return sock.recv(size)
    except OSError:
        return b""


def postgres_answers(host: str, port: int) -> bool:
    """A PostgreSQL server answers an SSLRequest with a single 'S' or 'N'."""
    return exchange(host, port, struct.pack("!ii", 8, 80877103), 1) in (b"S", b"N")


def redis_answers(host: str, port: int) -> bool:
    reply = exchange(host, port, b"PING\r\n", 64)
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def kafka_answers(host: str, port: int) -> bool:
    """A Kafka broker answers ApiVersions (key 18, v0) echoing our correlation id."""
    client = b"chronicle-dev"
    body = struct.pack("!hhih", 18, 0, 4242, len(client)) + client
    reply = exchange(host, port, struct.pack("!i", len(body)) + body, 8)
    return len(reply) == 8 and struct.unpack("!ii", reply)[1] == 4242


def http_text(url: str, data: bytes | None = None, timeout: float = 2) -> str | None:
    """The body of a 200 answer, else None."""
    try:
        with urllib.request.urlopen(url, data=data, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read()
            return body.decode(errors="replace") if response.status == 200 else None
    except (OSError, urllib.error.HTTPError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) != "Z"  # an unreaped child of ours has exited all the same


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def terminate(pid: int, grace: float = 20) -> bool:
    """SIGTERM the process group led by ``pid``, SIGKILL it after ``grace`` s; True if it had to."""
    if not _signal(pid, signal.SIGTERM):
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return False
        time.sleep(0.1)
    _signal(pid, signal.SIGKILL)
    return True


def _signal(pid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return False
    return True
