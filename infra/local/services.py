"""Start, stop and inspect the local services and app processes (used by ``infra/dev``).

Idempotent: a service that already answers on its configured URL is reused; only what this
module started (marked under var/run/) is ever stopped.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from infra.settings import ROOT, Settings, load_settings

VAR = ROOT / "var"
RUN = VAR / "run"
LOG = VAR / "log"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
BIN = Path(sys.executable).parent


class StartError(Exception):
    """A service did not come up; carries the log to show."""

    def __init__(self, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.log = log


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait(probe: Callable[[], bool], seconds: float, what: str, log: Path | None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise StartError(f"{what} did not answer within {seconds:.0f} s", log)


def port_open(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def run(args: list[str], log: Path | None = None, **kw: object) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise StartError(f"{' '.join(args[:3])} failed: {result.stderr.strip()[-800:]}", log)


@dataclass
class Service:
    name: str
    address: tuple[str, int]
    probe: Callable[[], bool]
    start: Callable[[], None]
    stop: Callable[[], None]
    log: Path


def postgres(settings: Settings) -> Service:
    url = urlparse(settings.database_url)
    host, port = url.hostname or "127.0.0.1", url.port or 5432
    home = VAR / "postgres"
    data, log = home / "data", home / "server.log"

    def as_postgres(*args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)

    def start() -> None:
        home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(home, "postgres")
        if not (data / "PG_VERSION").exists():
            run(as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"), log)
        options = (f"-p {port} -k {home} -c listen_addresses={host} -c max_connections=300"
                   " -c fsync=on -c shared_buffers=256MB")
        run(as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                        "-t", "60", "-o", options, "start"), log)

    def stop() -> None:
        run(as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"))

    return Service("postgres", (host, port), lambda: port_open(host, port), start, stop, log)


def redis(settings: Settings) -> Service:
    url = urlparse(settings.redis_url)
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    home = VAR / "redis"
    log = home / "redis.log"

    def start() -> None:
        home.mkdir(parents=True, exist_ok=True)
        run(["redis-server", "--port", str(port), "--bind", host, "--dir", str(home),
             "--daemonize", "yes", "--pidfile", str(home / "redis.pid"), "--logfile", str(log),
             "--save", "", "--appendonly", "no"], log)

    def stop() -> None:
        run(["redis-cli", "-h", host, "-p", str(port), "shutdown", "nosave"])

    return Service("redis", (host, port), lambda: port_open(host, port), start, stop, log)


def kafka(settings: Settings) -> Service:
    host, _, port_text = settings.kafka_bootstrap_servers.split(",")[0].rpartition(":")
    port = int(port_text)
    home = VAR / "kafka"

    def start() -> None:
        home.mkdir(parents=True, exist_ok=True)
        run([str(BIN / "noida-db"), "up", "--data-dir", str(home), "--only", "kafka",
             "--kafka-port", str(port)], home / "noida.log")

    def stop() -> None:
        run([str(BIN / "noida-db"), "down", "--data-dir", str(home)])

    return Service("kafka", (host, port), lambda: port_open(host, port), start, stop,
                   home / "noida.log")


def clickhouse(settings: Settings) -> Service:
    url = urlparse(settings.clickhouse_url)
    host, port = url.hostname or "127.0.0.1", url.port or 8123
    home = VAR / "clickhouse"
    log = home / "server.log"
    ping = f"http://{host}:{port}/ping"

    def start() -> None:
        home.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.clickhouse_server", str(home / "run"),
             str(home / "data"), str(port)], cwd=ROOT, stdout=log.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        (home / "server.pid").write_text(str(process.pid))

    def stop() -> None:
        pid = int((home / "server.pid").read_text())
        _terminate(pid)

    return Service("clickhouse", (host, port), lambda: http_ok(ping), start, stop, log)


def _terminate(pid: int, grace: float = 15) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)


SERVICES = (postgres, redis, kafka, clickhouse)


def marker(name: str) -> Path:
    return RUN / f"{name}.started"


def start_services(settings: Settings) -> None:
    RUN.mkdir(parents=True, exist_ok=True)
    for make in SERVICES:
        service = make(settings)
        host, port = service.address
        if service.probe():
            say(f"{service.name}: reusing {host}:{port}")
            continue
        say(f"{service.name}: starting on {host}:{port}")
        started = time.monotonic()
        service.start()
        wait(service.probe, 90, service.name, service.log)
        marker(service.name).write_text(str(time.time()))
        say(f"{service.name}: up in {time.monotonic() - started:.1f} s")
    ensure_database(settings)


def ensure_database(settings: Settings) -> None:
    import psycopg

    url = urlparse(settings.database_url)
    name = url.path.strip("/") or "chronicle"
    admin = settings.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            say(f"postgres: created database {name}")


def stop_services(settings: Settings) -> None:
    for make in reversed(SERVICES):
        service = make(settings)
        if marker(service.name).exists():
            say(f"{service.name}: stopping")
            try:
                service.stop()
            except (StartError, OSError, ValueError) as exc:
                say(f"{service.name}: stop failed: {exc}")
            marker(service.name).unlink(missing_ok=True)


def status(settings: Settings) -> None:
    for make in SERVICES:
        service = make(settings)
        host, port = service.address
        state = "answering" if service.probe() else "down"
        mine = " (started by infra/dev)" if marker(service.name).exists() else ""
        print(f"{service.name:<11} {host}:{port:<6} {state}{mine}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="infra.local.services")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--with-app", action="store_true", help="also the app processes")
    args = parser.parse_args()
    settings = load_settings()
    from infra.local import apps

    try:
        if args.action == "start":
            start_services(settings)
            if args.with_app:
                apps.start(settings)
        elif args.action == "stop":
            if args.with_app:
                apps.stop()
            stop_services(settings)
        else:
            status(settings)
            apps.status(settings)
    except StartError as exc:
        print(f"\nERROR: {exc}\n--- last lines of {exc.log} ---\n{tail(exc.log)}",
              file=sys.stderr)
        return 1
    return 0


def admin_token() -> str:
    """CHRONICLE_ADMIN_TOKEN, or the one generated once into var/admin_token."""
    given = os.environ.get("CHRONICLE_ADMIN_TOKEN", "")
    if given:
        return given
    path = VAR / "admin_token"
    if not path.exists():
        VAR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


if __name__ == "__main__":
    sys.exit(main())
