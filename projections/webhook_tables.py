"""The webhook outbox's tables: the sender's view of each endpoint (``webhook_targets``), one
row per (endpoint, event, generation) to deliver (``webhook_deliveries``), and every attempt
(``webhook_attempts``). The fan-out (projections/webhook_fanout.py) writes the first two in its
checkpoint's transaction; the sender (infra/webhooks/) moves deliveries along."""

from __future__ import annotations

from projections.rows import tenant_wall

TARGETS, DELIVERIES, ATTEMPTS = "webhook_targets", "webhook_deliveries", "webhook_attempts"
CHANNEL = "webhook_deliveries"  # NOTIFY'd when deliveries are due; the sender LISTENs
STATUSES = ("pending", "failed", "delivered", "abandoned")
# Undelivered: the ones that hold back the next delivery of the same (endpoint, stream).
OPEN = "status IN ('pending', 'failed')"


def ddl() -> tuple[str, ...]:
    walls = [*tenant_wall(TARGETS, "organization_id"), *tenant_wall(DELIVERIES, "organization_id"),
             *tenant_wall(ATTEMPTS, "organization_id")]
    return (
        f"CREATE TABLE IF NOT EXISTS {TARGETS} (endpoint_id uuid PRIMARY KEY,"
        " organization_id uuid NOT NULL, registered_position bigint NOT NULL,"
        " version bigint NOT NULL, state jsonb NOT NULL, failing_since timestamptz,"
        " failure_count int NOT NULL DEFAULT 0, last_success_at timestamptz,"
        " last_failure_at timestamptz)",
        f"CREATE INDEX IF NOT EXISTS {TARGETS}_org_idx ON {TARGETS} (organization_id)",
        f"CREATE TABLE IF NOT EXISTS {DELIVERIES} (id uuid PRIMARY KEY,"
        " organization_id uuid NOT NULL, endpoint_id uuid NOT NULL, event_id uuid NOT NULL,"
        " event_type text NOT NULL, stream_id uuid NOT NULL, stream_version bigint NOT NULL,"
        " position bigint NOT NULL, generation uuid NOT NULL, body text NOT NULL,"
        " status text NOT NULL DEFAULT 'pending', attempts int NOT NULL DEFAULT 0,"
        " response_code int, response_body text, error text, delivered_at timestamptz,"
        " next_retry_at timestamptz NOT NULL DEFAULT now(), leased_until timestamptz,"
        " created_at timestamptz NOT NULL DEFAULT now(),"
        " updated_at timestamptz NOT NULL DEFAULT now(),"
        " created_position bigint GENERATED ALWAYS AS IDENTITY UNIQUE)",
        # The W3C traceparent of the request that made the delivery: the sender's span joins
        # its trace (infra/tracing.py). Added to tables made before it.
        f"ALTER TABLE {DELIVERIES} ADD COLUMN IF NOT EXISTS traceparent text",
        f"CREATE INDEX IF NOT EXISTS {DELIVERIES}_due_idx ON {DELIVERIES} (next_retry_at)"
        f" WHERE {OPEN}",
        f"CREATE INDEX IF NOT EXISTS {DELIVERIES}_order_idx"
        f" ON {DELIVERIES} (endpoint_id, stream_id, position) WHERE {OPEN}",
        f"CREATE INDEX IF NOT EXISTS {DELIVERIES}_org_idx"
        f" ON {DELIVERIES} (organization_id, created_position)",
        f"CREATE INDEX IF NOT EXISTS {DELIVERIES}_endpoint_idx"
        f" ON {DELIVERIES} (endpoint_id, created_position)",
        f"CREATE TABLE IF NOT EXISTS {ATTEMPTS} (delivery_id uuid NOT NULL,"
        " attempt int NOT NULL, organization_id uuid NOT NULL, status text NOT NULL,"
        " response_code int, response_body text, error text, started_at timestamptz NOT NULL,"
        " duration_ms int NOT NULL, PRIMARY KEY (delivery_id, attempt))",
        *(s.as_string(None) for s in walls),
    )
