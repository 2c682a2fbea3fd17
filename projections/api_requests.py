"""The request log in ClickHouse: ``api_requests``, one row per API request, fed from
``chronicle.api-requests.v1`` (records, not events: infra/projector/records.py runs it).

Each row carries its own expiry, ``expires_at``, the request's time plus its organization's
``dataRetention.logs`` days as the organizations read model says at insert (90 without an
organization), and the table has ``TTL expires_at``: a later change of the setting applies to
the requests logged from then on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
from clickhouse_connect.driver.client import Client

from domain.organization.events import DataRetention
from infra.clickhouse import Inserter
from infra.requestlog import DECODER, ApiRequest
from projections.base import CLICKHOUSE_LINGER_S, Item, Projection

COLUMNS = [
    "organization_id", "timestamp", "request_id", "trace_id", "method", "route", "status",
    "duration_ms", "actor_kind", "api_key_id", "user_id", "client_id", "ip", "user_agent",
    "bytes_in", "bytes_out", "rate_limited", "expires_at",
]
NO_ORGANIZATION = UUID(int=0)
DEFAULT_DAYS = DataRetention().logs
CACHE_TTL_S = 300.0
CACHE_MAX = 10_000
RETENTION = ("SELECT id, (settings->'dataRetention'->>'logs')::int FROM organizations"
             " WHERE id = ANY(%s::uuid[])")


class Retention:
    """Each organization's log retention in days, from the organizations read model, cached
    for CACHE_TTL_S (a changed setting reaches new rows within that)."""

    def __init__(self) -> None:
        self.days: dict[UUID, tuple[int, float]] = {}

    def of(self, cur: psycopg.Cursor, organizations: set[UUID | None]) -> dict[UUID | None, int]:
        now = time.monotonic()
        if len(self.days) > CACHE_MAX:
            self.days.clear()
        missing = [o for o in organizations
                   if o is not None and (o not in self.days or now - self.days[o][1] > CACHE_TTL_S)]
        if missing:
            found: dict[UUID, int | None] = dict(cur.execute(RETENTION, (missing,)).fetchall())
            for org in missing:
                self.days[org] = (int(found.get(org) or DEFAULT_DAYS), now)
        return {o: self.days[o][0] if o is not None else DEFAULT_DAYS for o in organizations}


def row(r: ApiRequest, days: int) -> list[object]:
    at = datetime.fromtimestamp(r.timestamp, UTC)
    ids = {kind: r.actor_id if r.actor_kind == kind else ""
           for kind in ("api_key", "user", "oauth_client")}
    return [
        r.organization_id or NO_ORGANIZATION, at, r.request_id,
        r.trace_id, r.method, r.route, r.status, r.duration_ms, r.actor_kind, ids["api_key"],
        ids["user"], ids["oauth_client"], r.ip, r.user_agent, r.bytes_in, r.bytes_out,
        r.rate_limited, (at + timedelta(days=days)).replace(microsecond=0),
    ]


class RequestLogProjection(Projection):
    name = "api_requests"
    linger_s: float | None = CLICKHOUSE_LINGER_S
    aggregates: tuple[str, ...] = ("api-requests",)  # the topic chronicle.api-requests.v1

    def __init__(self, client: Client, table: str = "api_requests") -> None:
        self.client = client
        self.table = table
        self.inserter = Inserter(client, table, COLUMNS)
        self.retention = Retention()

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        """No events reach this projection: its records come through ``write``."""
        return

    def write(self, cur: psycopg.Cursor, values: Sequence[bytes]) -> None:
        """Decode the messages (each a batch of records) and insert their rows; a message that
        does not decode fails the batch, so the runner isolates it and parks it."""
        records = [r for v in values for r in DECODER.decode(v)]
        if not records:
            return
        days = self.retention.of(cur, {r.organization_id for r in records})
        rows = [row(r, days.get(r.organization_id, DEFAULT_DAYS)) for r in records]
        self.inserter.insert(rows)

