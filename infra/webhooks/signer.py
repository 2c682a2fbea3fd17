"""The sender's view of an endpoint (its folded state, as the fan-out keeps it) and the
Standard Webhooks headers of one attempt, signed with each of its current secrets."""

from __future__ import annotations

import time
from datetime import datetime
from uuid import UUID

import msgspec
import psycopg

from commands.ports import Sealer
from domain.webhook_endpoint.decider import WebhookEndpoint
from infra.webhook_secrets import signatures
from projections.webhook_payload import message_id
from projections.webhook_tables import TARGETS

_state = msgspec.json.Decoder(WebhookEndpoint)


class Signer:
    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer

    def endpoint(self, conn: psycopg.Connection, endpoint_id: UUID) -> WebhookEndpoint | None:
        row = conn.execute(f"SELECT state::text FROM {TARGETS} WHERE endpoint_id = %s",
                           (endpoint_id,)).fetchone()
        return None if row is None else _state.decode(row[0])

    def headers(self, endpoint_id: UUID, event_id: UUID, endpoint: WebhookEndpoint,
                body: bytes, now: datetime) -> dict[str, str]:
        msg_id, stamp = message_id(endpoint_id, event_id), int(time.time())
        secrets = [self.sealer.open(s, endpoint_id) for s in endpoint.signing_secrets(now)]
        return {"webhook-id": msg_id, "webhook-timestamp": str(stamp),
                "webhook-signature": signatures(secrets, msg_id, stamp, body)}
