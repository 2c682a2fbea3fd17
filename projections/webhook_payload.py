"""What a webhook receiver gets: the seed's WebhookEvent for one stored event, with the stream
id and version (so a receiver can see a gap in one resource's history) and the store position;
credential fields redacted as in the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.envelope import Envelope
from projections.audit_map import redact

TEST_EVENT = "webhook.test"
_NAMESPACE = UUID("0d6f5c1e-3b8a-4c2e-9a47-5e1f2b3c4d5e")
_encoder = msgspec.json.Encoder()


def delivery_id(endpoint_id: UUID, event_id: UUID, generation: UUID) -> UUID:
    """Stable, so a redelivered batch of the fan-out inserts nothing new."""
    return uuid.uuid5(_NAMESPACE, f"{endpoint_id}:{event_id}:{generation}")


def message_id(endpoint_id: UUID, event_id: UUID) -> str:
    """The webhook-id header: the same for every attempt, redelivery and replay of one event
    to one endpoint, so a receiver de-duplicates on it."""
    return f"msg_{uuid.uuid5(_NAMESPACE, f'{endpoint_id}:{event_id}').hex}"


def _caused_by(envelope: Envelope) -> dict[str, str]:
    kind = {"user": "userId", "api_key": "apiKeyId", "oauth_client": "oauthClientId",
            "operator": "operator"}.get(envelope.actor.kind, "system")
    return {kind: envelope.actor.id}


def body(envelope: Envelope, position: int) -> bytes:
    data = redact(msgspec.to_builtins(envelope.event))
    data.pop("type", None)
    return _encoder.encode({
        "id": str(envelope.event_id), "type": envelope.event_type,
        "organizationId": str(envelope.organization_id),
        "streamId": str(envelope.stream_id), "streamType": envelope.stream_type,
        "streamVersion": envelope.version, "position": position, "data": data,
        "metadata": {"source": envelope.origin.source,
                     "version": str(envelope.schema_version),
                     "correlationId": envelope.correlation_id,
                     "causedBy": _caused_by(envelope)},
        "createdAt": envelope.occurred_at.isoformat()})


def test_body(test_id: UUID, organization_id: UUID, endpoint_id: UUID,
              at: datetime) -> bytes:
    fields: dict[str, Any] = {
        "id": str(test_id), "type": TEST_EVENT, "organizationId": str(organization_id),
        "streamId": str(test_id), "streamType": "webhook", "streamVersion": 1, "position": 0,
        "data": {"endpointId": str(endpoint_id), "message": "a test event from Chronicle"},
        "metadata": {"source": "system", "version": "1", "causedBy": {"system": "chronicle"}},
        "createdAt": at.isoformat()}
    return _encoder.encode(fields)
