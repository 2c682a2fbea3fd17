"""What one attempt's answer means for its delivery (delivered, failed and retried later, or
abandoned), and its record: the attempt, the delivery's new state and the endpoint's health,
in one transaction that also wakes the sender (the stream's next delivery may be due)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

import psycopg

from infra.webhook_http import Answer
from infra.webhooks.schedule import next_delay
from projections.webhook_tables import ATTEMPTS, CHANNEL, DELIVERIES, TARGETS

Status = Literal["delivered", "failed", "abandoned"]


class Outcome(NamedTuple):
    status: Status
    attempt: int
    next_retry_at: datetime | None
    gone: bool  # 410: the receiver says the endpoint is no more

    def record(self, conn: psycopg.Connection, row: dict[str, Any], answer: Answer,
               at: datetime) -> datetime | None:
        """Write it down; the endpoint's failing-since time after it (None: it is healthy)."""
        ok = self.status == "delivered"
        with conn.transaction():
            conn.execute(
                f"INSERT INTO {ATTEMPTS} (delivery_id, attempt, organization_id, status,"
                " response_code, response_body, error, started_at, duration_ms)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (row["id"], self.attempt, row["organization_id"], self.status, answer.status,
                 answer.excerpt or None, answer.error or None, at, int(answer.seconds * 1000)))
            conn.execute(
                f"UPDATE {DELIVERIES} SET status = %s, attempts = %s, response_code = %s,"
                " response_body = %s, error = %s, next_retry_at = coalesce(%s, next_retry_at),"
                " delivered_at = CASE WHEN %s THEN %s ELSE delivered_at END,"
                " leased_until = NULL, updated_at = %s WHERE id = %s",
                (self.status, self.attempt, answer.status, answer.excerpt or None,
                 answer.error or None, self.next_retry_at, ok, at, at, row["id"]))
            found = conn.execute(
                f"UPDATE {TARGETS} SET"
                " failing_since = CASE WHEN %s THEN NULL ELSE coalesce(failing_since, %s) END,"
                " failure_count = CASE WHEN %s THEN 0 ELSE failure_count + 1 END,"
                " last_success_at = CASE WHEN %s THEN %s ELSE last_success_at END,"
                " last_failure_at = CASE WHEN %s THEN last_failure_at ELSE %s END"
                " WHERE endpoint_id = %s RETURNING failing_since",
                (ok, at, ok, ok, at, ok, at, row["endpoint_id"])).fetchone()
            conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
        return found[0] if found else None


def judge(answer: Answer, attempt: int, delays: tuple[float, ...], at: datetime) -> Outcome:
    """2xx delivers; 410 abandons (and disables the endpoint); anything else is retried after
    the schedule's next delay, or abandoned when the schedule is spent."""
    if answer.status is not None and 200 <= answer.status < 300:
        return Outcome("delivered", attempt, None, gone=False)
    if answer.status == 410:
        return Outcome("abandoned", attempt, None, gone=True)
    delay = next_delay(delays, attempt)
    if delay is None:
        return Outcome("abandoned", attempt, None, gone=False)
    return Outcome("failed", attempt, at + timedelta(seconds=delay), gone=False)
