"""Health and metrics of the webhook process: the fan-out runner like any projection's, the
sender's loop, and the outbox's depth (open deliveries, and how long the oldest due one has
waited, those held back behind their stream's failing delivery included)."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

from infra.health import Figures
from infra.projector.health import ProjectorHealth
from infra.projector.runner import Runner
from infra.settings import Settings
from infra.webhooks.sender import MAX_WAIT_S, Sender
from projections.webhook_tables import DELIVERIES, OPEN


def outbox(conn: psycopg.Connection) -> dict[str, Any]:
    row = conn.execute(
        f"SELECT count(*), coalesce(extract(epoch FROM now() - min(next_retry_at)"
        f" FILTER (WHERE next_retry_at <= now())), 0) FROM {DELIVERIES} WHERE {OPEN}").fetchone()
    return {"open": int(row[0]), "oldest_due_s": float(row[1])} if row else {}


class WebhookHealth:
    def __init__(self, settings: Settings, runner: Runner, runner_thread: threading.Thread,
                 sender: Sender, sender_thread: threading.Thread) -> None:
        self.fanout = ProjectorHealth(settings, [runner], [runner_thread])
        self.sender, self.sender_thread = sender, sender_thread
        self.figures = Figures(settings.database_url, outbox)
        self.stall_s = settings.projector_stall_seconds

    def _sender_problem(self) -> str | None:
        """The sender's own trouble only: deliveries waiting behind a failing or slow endpoint
        are that endpoint's (they show in the metrics), not the process's."""
        if not self.sender_thread.is_alive():
            return "sender stopped"
        if time.monotonic() - self.sender.stats.last_loop_at > MAX_WAIT_S + self.stall_s:
            return f"sender loop stuck ({self.sender.stats.last_error})"
        return None

    def report(self) -> dict[str, object]:
        fanout = self.fanout.report()
        depth = self.figures.get()
        problem = depth.get("error") or self._sender_problem()
        healthy = fanout["status"] == "healthy" and problem is None
        return {"status": "healthy" if healthy else "unhealthy", "fanout": fanout,
                "sender": {"problem": problem, "inFlight": self.sender.stats.in_flight,
                           **{k: v for k, v in depth.items() if k != "error"}}}

    def metrics(self) -> dict[str, float]:
        s = self.sender.stats
        depth = self.figures.get()
        return {**self.fanout.metrics(),
                "webhook_queue_depth": float(depth.get("open", 0)),
                "webhook_oldest_due_seconds": float(depth.get("oldest_due_s", 0)),
                "webhook_in_flight": float(s.in_flight),
                'webhook_attempts_total{outcome="delivered"}': float(s.delivered),
                'webhook_attempts_total{outcome="failed"}': float(s.failed),
                'webhook_attempts_total{outcome="abandoned"}': float(s.abandoned),
                "webhook_endpoints_disabled_total": float(s.disabled)}
