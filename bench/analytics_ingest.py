"""The request log's ClickHouse ingest: the projector's write path with the metrics' and usage's
views attached beside the same inserts into a bare copy of the table (the views' cost); and the
real `chronicle projector --projection api_requests` process draining records from Kafka beside
that write path alone (what Kafka, the consumer and the checkpoints add)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from confluent_kafka import Producer

from bench.common import env_for
from infra import clickhouse
from infra.requestlog import BATCH, ENCODER, ApiRequest, producer_config
from infra.settings import ROOT, Settings
from projections.api_requests import RequestLogProjection

DRAIN_TIMEOUT_S = 600.0


def batches(count: int, prefix: str) -> list[bytes]:
    """``count`` messages of BATCH records each, as the API process sends them."""
    org = uuid.uuid4()
    return [ENCODER.encode([ApiRequest(
        time.time(), "GET", "/v1/organizations/{organization_id}", 200, 1.2, org,
        "api_key", str(i % 200), "10.0.0.1", "bench/1", 0, 800, f"{prefix}_{b}_{i}", "", False)
        for i in range(BATCH)]) for b in range(count)]


def write_path(settings: Settings, count: int = 40) -> tuple[list[str], float]:
    """The projector's write into api_requests (views attached) and into a bare copy, each
    run twice (the second run's rate counts); also returns the views-attached rate."""
    ch = clickhouse.client(settings)
    ch.command(clickhouse.API_REQUESTS_DDL.format(table="api_requests_bare"))
    values = batches(count, "w")
    rates = {}
    with psycopg.connect(settings.database_url, autocommit=True) as conn, conn.cursor() as cur:
        for table in ("api_requests_bare", "api_requests", "api_requests_bare", "api_requests"):
            projection = RequestLogProjection(ch, table)
            started = time.perf_counter()
            for start in range(0, count, 4):  # the runner's batches: several messages each
                projection.write(cur, values[start:start + 4])
            rates[table] = count * BATCH / (time.perf_counter() - started)
    ch.command("DROP TABLE api_requests_bare")
    ch.close()
    ratio = rates["api_requests"] / rates["api_requests_bare"]
    return [f"    write path, views attached: {rates['api_requests']:>10,.0f} rows/s"
            f"   bare table (baseline): {rates['api_requests_bare']:>10,.0f} rows/s"
            f"   ratio {ratio:.2f}   ({count * BATCH} rows, {4 * BATCH} an insert)"
            ], rates["api_requests"]


def produce(settings: Settings, values: list[bytes]) -> None:
    producer = Producer(producer_config(settings))
    for value in values:
        while True:
            try:
                producer.produce(settings.api_requests_topic, value)
                break
            except BufferError:  # librdkafka's queue is full: let it send
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(60):
        raise SystemExit("Kafka did not take every request-log batch")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def projector_process(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "projector", "--projection", "api_requests"],
        cwd=ROOT, env=env_for(settings, PROJECTOR_PORT=str(free_port())),
        stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def drain(settings: Settings, rows: int) -> tuple[float, float]:
    """Start the projector on a topic holding ``rows`` records; (rows/s from its first rows
    to its last, seconds from its start to its last row)."""
    ch = clickhouse.client(settings)
    count = "SELECT count() FROM api_requests WHERE startsWith(request_id, 'p_')"
    log = Path(tempfile.mkdtemp(prefix="bench-projector-")) / "projector.log"
    began = time.perf_counter()
    process = projector_process(settings, log)
    first: tuple[float, int] | None = None
    try:
        while (seen := int(ch.command(count))) < rows:  # type: ignore[arg-type]
            if first is None and seen:
                first = (time.perf_counter(), seen)
            if time.perf_counter() - began > DRAIN_TIMEOUT_S or process.poll() is not None:
                raise SystemExit(f"the projector drained {seen} of {rows} rows:\n"
                                 f"{log.read_text()[-2000:]}")
            time.sleep(0.1)
        done = time.perf_counter()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        ch.close()
    at, before = first if first is not None else (began, 0)
    return (rows - before) / max(done - at, 1e-9), done - began


def projector(settings: Settings, rows: int, baseline: float) -> list[str]:
    messages = max(1, rows // BATCH)
    produce(settings, batches(messages, "p"))
    rate, took = drain(settings, messages * BATCH)
    return [f"    projector process (Kafka -> ClickHouse): {rate:>10,.0f} rows/s"
            f"   its write path alone (baseline): {baseline:>10,.0f} rows/s"
            f"   ratio {rate / baseline:.2f}   ({messages * BATCH:,} rows;"
            f" {took:.1f} s from its start, start-up and group join included)"]
