"""The webhook sender: moves due deliveries of the outbox (``webhook_deliveries``) along.

A delivery is claimed with a lease (so a killed sender's claims come back after the lease),
only when it is the oldest open one of its (endpoint, stream), so one resource's events go
out in order, and only while its endpoint has fewer than WEBHOOK_ENDPOINT_CONCURRENCY
attempts in flight, so a slow endpoint holds up no other. Each attempt is recorded; a failure
is retried on WEBHOOK_RETRY_SCHEDULE (jittered) and abandoned when it is spent; a 410 disables
the endpoint at once and failing for WEBHOOK_DISABLE_AFTER disables it, each through the
endpoint's command. The loop sleeps on LISTEN until a NOTIFY (new deliveries, a finished
attempt) or the next retry is due: an idle sender does nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.webhook_endpoint.events import DisableReason
from infra import tracing
from infra.backoff import Backoff
from infra.settings import Settings
from infra.ssrf import Guard
from infra.webhook_http import Answer, post
from infra.webhooks.outcome import Outcome, judge
from infra.webhooks.schedule import duration, schedule
from infra.webhooks.signer import Signer
from projections.webhook_tables import CHANNEL, DELIVERIES, OPEN

log = logging.getLogger("chronicle.webhooks")
# Disables an endpoint through its command: (endpoint id, reason, detail).
Disable = Callable[[UUID, DisableReason, str], None]
MAX_WAIT_S = 30.0  # the longest sleep without a NOTIFY: leases of a killed sender come back
# The head of each (endpoint, stream): its oldest open delivery (one walk of the order index);
# a head is claimable when due and not leased, while its endpoint has room.
CANDIDATES = (
    f"WITH busy AS (SELECT endpoint_id, count(*) AS n FROM {DELIVERIES}"
    f"  WHERE {OPEN} AND leased_until > now() GROUP BY endpoint_id),"
    " heads AS (SELECT DISTINCT ON (endpoint_id, stream_id) id, endpoint_id, next_retry_at,"
    f"  leased_until, created_position FROM {DELIVERIES} WHERE {OPEN}"
    "  ORDER BY endpoint_id, stream_id, position, created_position),"
    " ready AS (SELECT id, endpoint_id, row_number() OVER (PARTITION BY endpoint_id"
    "  ORDER BY next_retry_at, created_position) AS rank FROM heads"
    "  WHERE next_retry_at <= now() AND (leased_until IS NULL OR leased_until < now()))"
    " SELECT r.id FROM ready r LEFT JOIN busy b USING (endpoint_id)"
    " WHERE r.rank + coalesce(b.n, 0) <= %s ORDER BY r.rank LIMIT %s")
CLAIM = (f"UPDATE {DELIVERIES} SET leased_until = now() + make_interval(secs => %s)"
         " WHERE id = ANY(%s) AND (leased_until IS NULL OR leased_until < now())"
         " RETURNING id, organization_id, endpoint_id, event_id, body, attempts, traceparent")
# When something not yet claimable becomes so: a retry's time or a lease's end. Deliveries due
# now but held back (by their stream's delivery in flight, or their endpoint's limit) wait for
# the NOTIFY that the attempt holding them sends when it is recorded.
NEXT_DUE = ("SELECT min(t) FROM (SELECT greatest(next_retry_at, coalesce(leased_until,"
            f" next_retry_at)) AS t FROM {DELIVERIES} WHERE {OPEN}) due WHERE t > now()")


@dataclass
class SenderStats:
    attempts: int = 0
    delivered: int = 0
    failed: int = 0
    abandoned: int = 0
    disabled: int = 0
    in_flight: int = 0
    last_error: str = ""
    last_loop_at: float = 0.0


class Sender:
    def __init__(self, settings: Settings, signer: Signer, disable: Disable,
                 guard: Guard | None = None) -> None:
        self.settings = settings
        self.signer, self.disable = signer, disable
        self.guard = guard or Guard.from_setting(settings.webhook_allowed_hosts)
        self.delays = schedule(settings.webhook_retry_schedule)
        self.disable_after = timedelta(seconds=duration(settings.webhook_disable_after))
        self.lease_s = settings.webhook_timeout_s * 2 + 2
        self.stats = SenderStats(last_loop_at=time.monotonic())
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._pool: ConnectionPool | None = None

    def run(self) -> None:
        backoff = Backoff(0.5, 30.0)
        with ThreadPoolExecutor(self.settings.webhook_workers,
                                thread_name_prefix="webhook") as workers:
            while not self.stopping.is_set():
                try:
                    self._session(workers)
                    backoff.reset()
                except Exception as exc:  # a lost database: reconnect after a pause
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("webhook sender session ended: %s", self.stats.last_error)
                    self.stopping.wait(backoff.next())
        if self._pool is not None:
            self._pool.close()

    def _session(self, workers: ThreadPoolExecutor) -> None:
        url = self.settings.database_url
        if self._pool is None:
            self._pool = ConnectionPool(url, min_size=1, max_size=self.settings.webhook_workers,
                                        kwargs={"autocommit": True}, open=True)
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as listener, \
                psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            listener.execute(f"LISTEN {CHANNEL}")
            while not self.stopping.is_set():
                self.stats.last_loop_at = time.monotonic()
                claimed = self._claim(conn)
                for row in claimed:
                    with self._lock:
                        self.stats.in_flight += 1
                    workers.submit(self._attempt, row)
                wait = 0.0 if claimed else self._until_due(conn)
                if wait > 0:
                    for _ in listener.notifies(timeout=wait, stop_after=1):
                        pass

    def _claim(self, conn: psycopg.Connection) -> list[dict[str, Any]]:
        free = self.settings.webhook_workers - self.stats.in_flight
        if free <= 0:
            return []
        ids = [r[0] for r in conn.execute(CANDIDATES, (
            self.settings.webhook_endpoint_concurrency, free)).fetchall()]
        if not ids:
            return []
        cur = conn.cursor(row_factory=dict_row)
        return cur.execute(CLAIM, (self.lease_s, ids)).fetchall()

    def _until_due(self, conn: psycopg.Connection) -> float:
        row = conn.execute(NEXT_DUE).fetchone()
        due = row[0] if row else None
        if due is None:
            return MAX_WAIT_S
        return min(max((due - datetime.now(UTC)).total_seconds(), 0.01), MAX_WAIT_S)

    def _attempt(self, row: dict[str, Any]) -> None:
        started = datetime.now(UTC)
        try:
            assert self._pool is not None
            with self._pool.connection() as conn:
                answer = self._send(conn, row, started)
                outcome = judge(answer, row["attempts"] + 1, self.delays, started)
                failing_since = outcome.record(conn, row, answer, started)
            self._count(outcome)
            self._maybe_disable(row["endpoint_id"], outcome, failing_since, started, answer)
        except Exception as exc:  # the lease runs out and the delivery is tried again
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("webhook attempt of delivery %s failed", row["id"])
        finally:
            with self._lock:
                self.stats.in_flight -= 1

    def _send(self, conn: psycopg.Connection, row: dict[str, Any], now: datetime) -> Answer:
        endpoint = self.signer.endpoint(conn, row["endpoint_id"])
        if endpoint is None or endpoint.status != "active":
            return Answer(None, "", "the endpoint is disabled or deleted", 0.0)
        try:
            target = self.guard.check(endpoint.url)
        except ValueError as exc:
            return Answer(None, "", f"destination refused: {exc}", 0.0)
        body = row["body"].encode()
        headers = self.signer.headers(row["endpoint_id"], row["event_id"], endpoint, body, now)
        with tracing.http_client("POST", target.scheme, target.host, target.port, target.path,
                                 row["traceparent"]) as call:
            answer = post(target, body, {**headers, **call.headers},
                          self.settings.webhook_timeout_s)
            call.answered(answer.status, answer.error)
        return answer

    def _count(self, outcome: Outcome) -> None:
        with self._lock:
            self.stats.attempts += 1
            if outcome.status == "delivered":
                self.stats.delivered += 1
            elif outcome.status == "failed":
                self.stats.failed += 1
            else:
                self.stats.abandoned += 1

    def _maybe_disable(self, endpoint_id: UUID, outcome: Outcome, failing_since: datetime | None,
                       now: datetime, answer: Answer) -> None:
        reason: DisableReason
        if outcome.gone:
            reason, detail = "gone", "the endpoint answered 410 Gone"
        elif failing_since is not None and now - failing_since >= self.disable_after:
            reason = "failures"
            detail = f"failing since {failing_since.isoformat()}: {answer.error or answer.status}"
        else:
            return
        self.disable(endpoint_id, reason, detail)
        with self._lock:
            self.stats.disabled += 1

    def stop(self) -> None:
        self.stopping.set()
        try:
            with psycopg.connect(self.settings.database_url, autocommit=True,
                                 connect_timeout=3) as conn:
                conn.execute("SELECT pg_notify(%s, 'stop')", (CHANNEL,))
        except psycopg.Error:
            pass  # the loop wakes within MAX_WAIT_S anyway
