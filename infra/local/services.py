"""Start, stop and inspect the local PostgreSQL, Redis, Kafka broker and ClickHouse (used by infra/dev).

    python -m infra.local.services start|stop|status [--with-app]

Idempotent: a service that already answers on its configured URL is reused; one that does not is
started with its data under var/ and recorded in var/run/<name>.started. ``stop`` stops only what
such a marker says this checkout started. ``--with-app`` adds the api, relay and projector
processes (infra.local.apps). PostgreSQL keeps its data in var/postgres unless the ``postgres``
user cannot reach var/ (a checkout under a private home folder): then it uses
/var/lib/postgresql/chronicle-<hash of the var path> and var/postgres links to it.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from infra.local.common import (
    LOCAL_HOSTS,
    Layout,
    StartError,
    http_text,
    kafka_answers,
    pid_alive,
    postgres_answers,
    read_pid,
    redis_answers,
    say,
    tail,
    terminate,
    wait_until,
)
from infra.local.kafka import Broker
from infra.settings import Settings, SettingsError, load_settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 60.0
Alive = Callable[[], bool] | None


def run(args: list[str], log: Path | None = None) -> str:
    """Run a short command; raise StartError with its output (and ``log``) when it fails."""
    try:
        result = subprocess.run(args, capture_output=True, text=True, check=False,
                                stdin=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StartError(f"{Path(args[0]).name}: {exc}", log) from None
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise StartError(f"`{shlex.join(args)}` exited with {result.returncode}:\n{output}", log)
    return result.stdout


def detach(args: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start a long-running process in its own session, output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n---- {time.strftime('%F %T')} {shlex.join(args)}\n".encode())
        out.flush()
        return subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def host_port(url: str, default_port: int) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(url if "//" in url else f"//{url}")
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


class Service:
    """One server: how to tell it answers, start it, stop it, and prepare it for Chronicle."""

    name = ""
    host = "127.0.0.1"
    port = 0
    log: Path  # the file whose tail explains a failed start

    def answers(self) -> bool:
        raise NotImplementedError

    def launch(self) -> Alive:
        """Start the server; return a check that is False once the new process has died."""
        raise NotImplementedError

    def halt(self) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Create what Chronicle expects on the server (databases); runs on reuse too."""


class Postgres(Service):
    name = "postgres"

    def __init__(self, settings: Settings, layout: Layout) -> None:
        url = urllib.parse.urlsplit(settings.database_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 5432
        self.database = url.path.strip("/") or "chronicle"
        self.admin_url = urllib.parse.urlunsplit(url._replace(path="/postgres"))
        self.layout = layout
        self.home = layout.var / "postgres"
        self.log = self.home / "server.log"

    def as_postgres(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)

    def locate(self) -> Path:
        """var/postgres if the postgres user can reach it, else a folder it owns (linked there)."""
        var = self.layout.var
        var.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0 or self.home.is_symlink():
            return self.home.resolve()
        if subprocess.run(self.as_postgres("test", "-x", str(var)), check=False).returncode == 0:
            return self.home
        if self.home.exists():
            raise StartError(f"postgres: the postgres user cannot enter {var}, which holds "
                             f"{self.home}: allow it (chmod o+x on {var} and its parents) "
                             f"or remove {self.home}")
        digest = hashlib.sha256(str(var).encode()).hexdigest()[:12]
        elsewhere = Path("/var/lib/postgresql") / f"chronicle-{digest}"
        say(f"postgres: the postgres user cannot enter {var}; data in {elsewhere}")
        elsewhere.mkdir(parents=True, exist_ok=True)
        self.home.symlink_to(elsewhere)
        return elsewhere

    def launch(self) -> Alive:
        home = self.locate()
        home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(home, "postgres", "postgres")
        data, log = home / "data", home / "server.log"
        self.log = log
        if not (data / "PG_VERSION").exists():
            say(f"postgres: initdb {data}")
            run(self.as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"), log)
        sockets = str(home) if len(str(home)) < 80 else ""  # unix socket paths max 107 bytes
        options = shlex.join(["-p", str(self.port), "-c", f"listen_addresses={self.host}",
                              "-c", f"unix_socket_directories={sockets}",
                              "-c", "max_connections=300", "-c", "shared_buffers=256MB"])
        run(self.as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                             "-t", str(int(START_TIMEOUT)), "-o", options, "start"), log)
        return None

    def halt(self) -> None:
        data = self.home.resolve() / "data"
        run(self.as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                             "-t", "60", "stop"), self.log)

    def answers(self) -> bool:
        return postgres_answers(self.host, self.port)

    def prepare(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            for name in (self.database, f"{self.database}_test"):
                row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if row.fetchone() is None:
                    conn.execute(f'CREATE DATABASE "{name}"')
                    say(f"postgres: created database {name}")


class Redis(Service):
    name = "redis"

    def __init__(self, settings: Settings, layout: Layout) -> None:
        self.host, self.port = host_port(settings.redis_url, 6379)
        self.home = layout.var / "redis"
        self.log = self.home / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> Alive:
        # Not --daemonize: a detached child we can watch fails fast when it cannot bind.
        self.home.mkdir(parents=True, exist_ok=True)
        # AOF on: sessions, used refresh tokens and the deny set survive a restart of Redis.
        args = ["redis-server", "--port", str(self.port), "--bind", self.host,
                "--dir", str(self.home), "--daemonize", "no",
                "--pidfile", str(self.home / "redis.pid"), "--logfile", str(self.log),
                "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]
        self.process = process = detach(args, self.log, self.home)
        return lambda: process.poll() is None

    def halt(self) -> None:
        if self.process is not None:  # launched by this very run, which gave up on it
            if self.process.poll() is None:
                terminate(self.process.pid)
            return
        run(["redis-cli", "-h", self.host, "-p", str(self.port), "shutdown", "nosave"], self.log)

    def answers(self) -> bool:
        return redis_answers(self.host, self.port)


class Kafka(Service):
    """Apache Kafka from Maven Central, one KRaft node (infra/local/kafka.py); controller on port + 1."""

    name = "kafka"

    def __init__(self, settings: Settings, layout: Layout) -> None:
        first = settings.kafka_bootstrap_servers.split(",")[0].strip()
        self.host, self.port = host_port(first, 9092)
        self.broker = Broker(layout.var / "kafka", self.host, self.port, self.port + 1)
        self.log = self.broker.log

    def launch(self) -> Alive:
        process = self.broker.start()
        return lambda: process.poll() is None

    def halt(self) -> None:
        self.broker.stop()

    def answers(self) -> bool:
        return kafka_answers(self.host, self.port) and self.broker.ready()


class ClickHouse(Service):
    """chdb-core's engine serving HTTP (infra/local/clickhouse_server.py), stopped via its FIFO."""

    name = "clickhouse"

    def __init__(self, settings: Settings, layout: Layout) -> None:
        url = urllib.parse.urlsplit(settings.clickhouse_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 8123
        self.base = f"{url.scheme or 'http'}://{url.netloc}"
        self.database = url.path.strip("/") or "default"
        self.home = layout.var / "clickhouse"
        self.log, self.pidfile = self.home / "server.log", self.home / "server.pid"

    def launch(self) -> Alive:
        self.home.mkdir(parents=True, exist_ok=True)
        server = Path(__file__).with_name("clickhouse_server.py")
        process = detach([sys.executable, str(server), str(self.home / "run"),
                          str(self.home / "data"), self.host, str(self.port)], self.log, self.home)
        self.pidfile.write_text(f"{process.pid}\n")
        return lambda: process.poll() is None

    def halt(self) -> None:
        pid = read_pid(self.pidfile)
        if pid is None or not pid_alive(pid) or not _cmdline_has(pid, "clickhouse_server"):
            raise StartError(f"no ClickHouse server process recorded in {self.pidfile}", self.log)
        if _write_fifo(self.home / "run" / "control.fifo"):
            with contextlib.suppress(StartError):
                wait_until(lambda: not pid_alive(pid), 15, "clickhouse stop", None)
        if pid_alive(pid) and terminate(pid):
            say("clickhouse: did not stop on SIGTERM; killed")
        self.pidfile.unlink(missing_ok=True)

    def answers(self) -> bool:
        return (http_text(f"{self.base}/ping") or "").strip() == "Ok."

    def prepare(self) -> None:
        for name in {self.database, f"{self.database}_test"} - {"default"}:
            sql = f"CREATE DATABASE IF NOT EXISTS `{name}`"
            if http_text(f"{self.base}/", data=sql.encode(), timeout=30) is None:
                raise StartError(f"clickhouse: `{sql}` failed at {self.base}", self.log)


def _cmdline_has(pid: int, needle: str) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _write_fifo(fifo: Path) -> bool:
    """Write a line to a FIFO without blocking; False when nobody reads it."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT):
            return False
        raise
    try:
        os.write(fd, b"stop\n")
    finally:
        os.close(fd)
    return True


SERVICES: tuple[type[Postgres] | type[Redis] | type[Kafka] | type[ClickHouse], ...] = (
    Postgres, Redis, Kafka, ClickHouse)


def services(settings: Settings, layout: Layout) -> list[Service]:
    return [kind(settings, layout) for kind in SERVICES]


def start_one(service: Service, layout: Layout) -> None:
    where = f"{service.host}:{service.port}"
    if service.answers():
        ours = " (started earlier by infra/dev)" if layout.marker(service.name).exists() else ""
        say(f"{service.name}: reusing the server on {where}{ours}")
    elif service.host not in LOCAL_HOSTS:
        raise StartError(f"{service.name}: nothing answers on {where}, and it is not a local "
                         "address this script could start a server on")
    else:
        say(f"{service.name}: starting on {where}")
        began = time.monotonic()
        try:
            alive = service.launch()
            wait_until(service.answers, START_TIMEOUT, service.name, service.log, alive)
        except StartError:
            with contextlib.suppress(Exception):
                service.halt()  # leave nothing half-started behind
            raise
        layout.marker(service.name).write_text(f"{time.strftime('%F %T')} {where}\n")
        say(f"{service.name}: ready in {time.monotonic() - began:.1f} s")
    service.prepare()


def stop_one(service: Service, layout: Layout) -> bool:
    """Stop ``service`` if this checkout started it; False if it would not stop."""
    marker = layout.marker(service.name)
    if not marker.exists():
        if service.answers():
            say(f"{service.name}: not started by infra/dev; leaving it running")
        return True
    if not service.answers():
        say(f"{service.name}: already stopped")
        marker.unlink()
        return True
    say(f"{service.name}: stopping")
    try:
        service.halt()
        wait_until(lambda: not service.answers(), 30, f"{service.name} (stopping)", service.log)
    except StartError as exc:
        say(f"{service.name}: could not stop it: {exc}")
        return False
    marker.unlink()
    return True


def start_all(settings: Settings, layout: Layout) -> None:
    layout.run.mkdir(parents=True, exist_ok=True)
    for service in services(settings, layout):
        start_one(service, layout)


def stop_all(settings: Settings, layout: Layout) -> bool:
    results = [stop_one(service, layout) for service in reversed(services(settings, layout))]
    return all(results)


def status(settings: Settings, layout: Layout) -> None:
    for service in services(settings, layout):
        state = "answering" if service.answers() else "down"
        ours = "  (started by infra/dev)" if layout.marker(service.name).exists() else ""
        print(f"{service.name:<11} {service.host}:{service.port:<6} {state}{ours}", flush=True)


def act(action: str, with_app: bool, settings: Settings) -> int:
    from infra.local import apps

    layout = Layout.of(settings)
    if action == "start":
        start_all(settings, layout)
        if with_app:
            apps.start(settings, layout)
        return 0
    if action == "stop":
        stopped = apps.stop(layout) if with_app else True
        return 0 if stop_all(settings, layout) and stopped else 1
    status(settings, layout)
    apps.status(settings, layout)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.services",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--with-app", action="store_true",
                        help="also the api, relay and projector processes")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... | head` ends us quietly, like any tool
    try:
        return act(args.action, args.with_app, load_settings())
    except SettingsError as exc:
        print(f"error: bad setting: {exc}", file=sys.stderr)
        return 2
    except StartError as exc:
        where = f"--- last lines of {exc.log} ---\n{tail(exc.log)}\n---\n" if exc.log else ""
        print(f"\n{where}error: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
