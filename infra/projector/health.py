"""Projector health: which projection lags without moving, has a dead runner or a long rebuild."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from infra.health import Figures
from infra.projector import deadletter
from infra.projector.runner import Runner
from infra.settings import Settings
from projections.status import statuses


def read_figures(conn: psycopg.Connection) -> dict[str, Any]:
    """Lag and checkpoint per projection, and parked events: two small queries and a count."""
    return {"status": {str(s["projection"]): s for s in statuses(conn)},
            "parked": deadletter.counts(conn)}


class ConsumerLag:
    """Per projection, the Kafka messages between its next offsets and its partitions' ends:
    one ListOffsets request per scrape at most every ``ttl`` seconds."""

    def __init__(self, bootstrap_servers: str, ttl: float = 5.0) -> None:
        self.bootstrap_servers, self.ttl = bootstrap_servers, ttl
        self._admin: AdminClient | None = None
        self._value: dict[str, float] = {}
        self._at = -ttl
        self._lock = threading.Lock()

    def of(self, runners: Sequence[Runner]) -> dict[str, float]:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                self._value = self._measure(runners)
                self._at = time.monotonic()
            return self._value

    def _measure(self, runners: Sequence[Runner]) -> dict[str, float]:
        nexts = {r.projection.name: r.stats.offsets.copy() for r in runners}
        wanted = {key for offsets in nexts.values() for key in offsets}
        if not wanted:
            return {}
        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        futures = self._admin.list_offsets(
            {TopicPartition(*k): OffsetSpec.latest() for k in wanted}, request_timeout=5)
        try:
            ends = {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
        except KafkaException:  # a broker away: no figure rather than a wrong one
            self._admin = None
            return {}
        return {name: float(sum(max(ends.get(k, n) - n, 0) for k, n in offsets.items()))
                for name, offsets in nexts.items()}


class ProjectorHealth:
    def __init__(self, settings: Settings, runners: Sequence[Runner],
                 threads: Sequence[threading.Thread]) -> None:
        self.stall_s = settings.projector_stall_seconds
        self.pairs = list(zip(runners, threads, strict=True))
        self.figures = Figures(settings.database_url, read_figures)
        self.consumer_lag = ConsumerLag(settings.kafka_bootstrap_servers)

    def problem(self, runner: Runner, thread: threading.Thread, lag: int) -> str | None:
        """Why this projection is not doing its job, or None."""
        now = time.monotonic()
        if not thread.is_alive():
            return "runner stopped"
        since = runner.stats.rebuilding_since
        if since is not None and now - since > self.stall_s:
            return f"consumer being rebuilt for {now - since:.0f} s ({runner.stats.last_error})"
        idle = now - runner.progress.keeping_up_at
        if lag > 0 and idle > self.stall_s:
            why = f" (last error: {runner.stats.last_error})" if runner.stats.last_error else ""
            return f"stalled: lag {lag}, nothing applied for {idle:.0f} s{why}"
        return None

    def report(self) -> dict[str, object]:
        figures = self.figures.get()
        if "error" in figures:
            return {"status": "unhealthy", "error": figures["error"]}
        rows: list[dict[str, object]] = []
        for runner, thread in self.pairs:
            name = runner.projection.name
            found = figures["status"].get(name, {})
            lag = int(found.get("lag", 0))
            rows.append({"projection": name, "lag": lag,
                         "checkpoint": int(found.get("checkpoint", 0)),
                         "parked": int(figures["parked"].get(name, 0)),
                         "rebuilds": runner.stats.rebuilds,
                         "problem": self.problem(runner, thread, lag)})
        failing = [str(r["projection"]) for r in rows if r["problem"]]
        return {"status": "unhealthy" if failing else "healthy", "failing": failing,
                "parked": sum(int(str(r["parked"])) for r in rows), "projections": rows}

    def metrics(self) -> dict[str, float]:
        figures = self.figures.get()
        lag = self.consumer_lag.of([runner for runner, _thread in self.pairs])
        out: dict[str, float] = {}
        for runner, _thread in self.pairs:
            label = f'{{projection="{runner.projection.name}"}}'
            found = figures.get("status", {}).get(runner.projection.name, {})
            out[f"projector_applied_total{label}"] = runner.stats.applied
            out[f"projector_rebuilds_total{label}"] = runner.stats.rebuilds
            out[f"projector_failures_total{label}"] = runner.stats.failures
            out[f"projection_parked{label}"] = figures.get("parked", {}).get(
                runner.projection.name, 0)
            if runner.projection.name in lag:
                out[f"consumer_lag{label}"] = lag[runner.projection.name]
            if found:
                out[f"projection_lag{label}"] = float(found["lag"])
                out[f"projection_checkpoint{label}"] = float(found["checkpoint"])
        return out
