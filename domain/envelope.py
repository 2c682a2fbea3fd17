"""The envelope every stored event travels in, and the closed union of all event types."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from domain.access.events import AccessEvent
from domain.alert_rule.events import AlertRuleEvent
from domain.apikey.events import ApiKeyEvent
from domain.bulk_operation.events import BulkOperationEvent
from domain.claim.events import ClaimEvent
from domain.oauthclient.events import OAuthClientEvent
from domain.organization.events import OrganizationEvent
from domain.resource.events import ResourceEvent
from domain.resource_type.events import ResourceTypeEvent
from domain.role.events import RoleEvent
from domain.roster.events import RosterEvent
from domain.slug.events import SlugEvent
from domain.usage.events import UsageEvent
from domain.user.events import UserEvent
from domain.webhook_endpoint.events import WebhookEndpointEvent

AnyEvent = (OrganizationEvent | SlugEvent | ApiKeyEvent | AccessEvent | UserEvent | RoleEvent
            | ClaimEvent | RosterEvent | OAuthClientEvent | ResourceTypeEvent
            | ResourceEvent | BulkOperationEvent | UsageEvent | WebhookEndpointEvent
            | AlertRuleEvent)

ActorKind = Literal["operator", "user", "api_key", "oauth_client", "system"]
# Where a change came from: a client of the API, a browser (the request carried Origin or
# Sec-Fetch-Site), or no request at all (seeds, operations, events stored before the field).
Source = Literal["api", "web", "system"]
SCHEMA_VERSION = 1


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    kind: ActorKind
    id: str


SYSTEM = Actor(kind="system", id="chronicle")


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One event with the metadata every consumer needs (DESIGN.md, Events)."""

    event_id: UUID
    stream_id: UUID
    stream_type: str
    version: int
    organization_id: UUID
    occurred_at: datetime
    actor: Actor
    request_id: str
    correlation_id: str
    causation_id: str
    schema_version: int = SCHEMA_VERSION
    # The request's origin, for the audit trail. Absent (UNSET: not encoded) when unknown or
    # when no request made the event, so events stored before these fields decode, and
    # encode again to the same bytes.
    ip_address: str | UnsetType = UNSET
    user_agent: str | UnsetType = UNSET
    source: Source | UnsetType = UNSET
    # The W3C traceparent of the command's span (infra/tracing.py), which the relay puts in
    # the Kafka header: the request's trace continues in the processes the event reaches.
    # Absent when tracing was off, like the origin above.
    traceparent: str | UnsetType = UNSET
    event: AnyEvent

    @property
    def event_type(self) -> str:
        return event_type(self.event)

    @property
    def origin(self) -> Origin:
        return Origin(self.ip_address or "", self.user_agent or "", self.source or "system")


class Origin(NamedTuple):
    ip_address: str
    user_agent: str
    source: Source


def event_type(event: AnyEvent) -> str:
    """The persisted tag of an event, for example ``organization.Renamed``."""
    tag = type(event).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Envelope)


def encode(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


def decode(data: bytes) -> Envelope:
    return _decoder.decode(data)
