"""Shared benchmark plumbing: a private database and topic prefix, timing and percentiles."""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import psycopg

from infra.migrate import migrate
from infra.settings import ROOT, Settings, load_settings

TOKEN = "bench-token"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values_ms: list[float]) -> str:
    return (f"p50 {pct(values_ms, 50):7.2f} ms  p99 {pct(values_ms, 99):7.2f} ms"
            f"  (n={len(values_ms)}, mean {statistics.fmean(values_ms):.2f})")


@contextmanager
def private_environment() -> Iterator[Settings]:
    """A fresh database, topic prefix and ClickHouse database, dropped afterwards."""
    base = load_settings()
    run = f"bench{int(time.time())}{secrets.token_hex(2)}"
    admin = base.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{run}"')
    settings = msgspec.structs.replace(
        base, database_url=base.database_url.rsplit("/", 1)[0] + f"/{run}",
        kafka_topic_prefix=run, clickhouse_url=base.clickhouse_url.rsplit("/", 1)[0] + f"/{run}",
        admin_token=TOKEN, read_wait_timeout_ms=30000)
    migrate(settings, log=False)
    try:
        yield settings
    finally:
        from infra import clickhouse, kafka

        kafka.delete_topics(settings)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
        ch = clickhouse.client(settings, database="default")
        ch.command(f"DROP DATABASE IF EXISTS `{run}`")
        ch.close()


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix, "CLICKHOUSE_URL": settings.clickhouse_url,
        "CHRONICLE_ADMIN_TOKEN": TOKEN, "LOG_LEVEL": "warning", "LOG_FORMAT": "text", **extra})
    return env


def spawn(settings: Settings, process: str, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "infra.cli", process], cwd=ROOT,
                            env=env_for(settings, **extra), stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)
