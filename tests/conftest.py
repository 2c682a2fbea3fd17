"""Fixtures on the real services: a private database, topic prefix and ClickHouse database per run."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg
import pytest

from infra.eventstore import EventStore, datastore_from_url
from infra.local.kafka import Broker
from infra.settings import ROOT, Settings, load_settings

ADMIN_TOKEN = "test-operator-token"


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def env_for(settings: Settings, **overrides: str) -> dict[str, str]:
    """Environment for a `chronicle` subprocess that uses the test run's settings."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "KAFKA_PARTITIONS": str(settings.kafka_partitions),
        "CLICKHOUSE_URL": settings.clickhouse_url, "CHRONICLE_ADMIN_TOKEN": ADMIN_TOKEN,
        "LOG_FORMAT": "text", "LOG_LEVEL": "warning",
        "ENABLE_USAGE_LIMITS": str(settings.enable_usage_limits).lower(),
        "SMTP_HOST": settings.smtp_host, "SMTP_PORT": str(settings.smtp_port),
        **overrides,
    })
    return env


def provision(**overrides: object) -> Settings:
    """A fresh database, Kafka topic prefix and ClickHouse database, migrated."""
    from infra.migrate import migrate

    base = load_settings()
    run = f"t{int(time.time())}{secrets.token_hex(3)}"
    try:
        with psycopg.connect(_with_database(base.database_url, "postgres"), autocommit=True,
                             connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{run}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable ({exc}); run the tests with `infra/dev test`")
    ch_base = base.clickhouse_url.rsplit("/", 1)[0]
    fresh = msgspec.structs.replace(
        base, database_url=_with_database(base.database_url, run), kafka_topic_prefix=run,
        clickhouse_url=f"{ch_base}/{run}", admin_token=ADMIN_TOKEN, redis_key_prefix=f"{run}:",
        read_wait_timeout_ms=15000,
        relay_poll_interval_ms=200, db_pool_min=1, db_pool_max=10,
        public_rate_limit_per_minute=100_000,
        # Usage quotas refuse and warn only where a test turns them on (test_usage.py): a
        # free plan's five users would otherwise block the tests that invite more.
        enable_usage_limits=False, **overrides)
    migrate(fresh, log=False)
    return fresh


def deprovision(settings: Settings) -> None:
    from infra import clickhouse, kafka

    kafka.delete_topics(settings)
    run = settings.kafka_topic_prefix
    with psycopg.connect(_with_database(settings.database_url, "postgres"),
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
    ch = clickhouse.client(settings, database="default")
    ch.command(f"DROP DATABASE IF EXISTS `{run}`")
    ch.close()


class Mailbox:
    """A real SMTP server (aiosmtpd) on a free port, keeping every message it accepts."""

    def __init__(self, port: int | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.port = port or free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server: object, _session: object, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def token_for(self, address: str, timeout: float = 30) -> str:
        """The token of the newest mail to ``address`` (waits for it to arrive)."""
        wait_until(lambda: self.to(address), timeout=timeout, message=f"a mail to {address}")
        body = self.to(address)[-1].get_body(("plain",))
        assert body is not None
        found = re.search(r"^token: (\S+)", body.get_content(), re.MULTILINE)
        assert found, body.get_content()
        return found.group(1)


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture(scope="session")
def settings(mailbox: Mailbox) -> Iterator[Settings]:
    """The test run's shared environment (served by the session's relay and projectors)."""
    s = provision(smtp_host="127.0.0.1", smtp_port=mailbox.port)
    yield s
    deprovision(s)


@pytest.fixture
def isolated() -> Iterator[Settings]:
    """An environment of its own, for tests that run and kill their own workers."""
    s = provision()
    yield s
    deprovision(s)


@pytest.fixture(scope="session")
def store(settings: Settings) -> Iterator[EventStore]:
    s = EventStore(datastore_from_url(settings.database_url, pool_size=4, max_overflow=16))
    yield s
    s.close()


@pytest.fixture
def db(settings: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        yield conn


class Workers:
    """Relay and projector threads inside the test process (killable ones are subprocesses)."""

    def __init__(self, settings: Settings, store: EventStore) -> None:
        from infra.projector.runner import Runner
        from infra.relay import Relay
        from projections.registry import OWN_PROCESS, PROJECTIONS

        self.relay = Relay(settings, store)
        # The webhook fan-out too (its sender is not run here: deliveries stay pending).
        self.runners = [Runner(settings, spec.build(settings))
                        for spec in (*PROJECTIONS.values(), *OWN_PROCESS.values())]
        self.threads = [threading.Thread(target=self.relay.run, daemon=True)] + [
            threading.Thread(target=r.run, daemon=True) for r in self.runners]

    def start(self) -> Workers:
        for t in self.threads:
            t.start()
        return self

    def stop(self) -> None:
        self.relay.stop()
        for r in self.runners:
            r.stop()
        for t in self.threads:
            t.join(timeout=30)


@pytest.fixture(scope="session")
def workers(settings: Settings, store: EventStore) -> Iterator[Workers]:
    w = Workers(settings, store).start()
    yield w
    w.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def private_broker(settings: Settings, home: Path) -> Broker:
    """An Apache Kafka broker of a test's own, on free ports (the jars are var/kafka/lib's)."""
    return Broker(home / "kafka", "127.0.0.1", free_port(), free_port(),
                  lib=Path(settings.data_dir) / "kafka" / "lib")


def on_private_broker(settings: Settings, home: Path) -> tuple[Broker, Settings]:
    """A started private broker, and ``settings`` pointed at it (acks given up on after 2 s)."""
    broker = private_broker(settings, home)
    broker.wait_ready(process=broker.start())
    return broker, msgspec.structs.replace(settings, kafka_bootstrap_servers=broker.bootstrap,
                                           kafka_delivery_timeout_ms=2000)


def wait_until(predicate: Callable[[], object], timeout: float = 30, interval: float = 0.05,
               message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every process group, then give each 20 s before a SIGKILL."""
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def spawn(settings: Settings, *args: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """Start `chronicle <args>` as a real process with the test run's settings."""
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "infra.cli", *args], cwd=ROOT, env=env_for(settings, **env),
        stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextlib.contextmanager
def running_stack(settings: Settings, log: Path, **env: str) -> Iterator[str]:
    """The real relay, projector and api processes on ``settings``; yields the API's URL."""
    port = free_port()
    env = {"PORT": str(port), "API_WORKERS": "1", "RELAY_PORT": str(free_port()),
           "PROJECTOR_PORT": str(free_port()), **env}
    url = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs += [spawn(settings, process, log=log, **env)
                  for process in ("relay", "projector", "api")]
        wait_until(lambda: ready(url), timeout=60,
                   message=f"api ready ({log.read_text(errors='replace')[-800:]})")
        yield url
    finally:
        stop_all(procs)
        print("exit codes (relay, projector, api):", [p.returncode for p in procs])

