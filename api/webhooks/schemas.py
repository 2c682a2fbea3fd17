"""Request and response bodies of the webhook routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import Meta

from api.platform.bodies import Body
from api.platform.schemas import Out, PaginationInfo
from domain import limits as lim

Url = Annotated[str, Meta(min_length=1, max_length=lim.MAX_WEBHOOK_URL,
                          description="An http(s) URL reaching a public address")]
EventTypes = Annotated[
    list[Annotated[str, Meta(max_length=lim.MAX_EVENT_FILTER)]],
    Meta(min_length=1, max_length=lim.MAX_EVENT_FILTERS,
         description="Event type filters: *, <aggregate>.* (resource.*) or an exact type")]
Description = Annotated[str, Meta(max_length=lim.MAX_DESCRIPTION)]
Metadata = Annotated[dict[Annotated[str, Meta(max_length=lim.MAX_FIELD_NAME)], Any],
                     Meta(max_length=lim.MAX_METADATA_KEYS)]
Grace = Annotated[int, Meta(ge=0, le=lim.MAX_GRACE_SECONDS)]
Status = Literal["pending", "failed", "delivered", "abandoned"]


class CreateEndpointBody(Body, frozen=True):
    url: Url
    event_types: EventTypes
    organization_id: UUID | None = None
    description: Description = ""
    metadata: Metadata = {}
    active: bool = True


class UpdateEndpointBody(Body, frozen=True):
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    metadata: Metadata | None = None
    active: bool | None = None


class RollSecretBody(Body, frozen=True):
    """How long the previous secret keeps signing beside the new one (default:
    WEBHOOK_SECRET_GRACE_S)."""

    grace_seconds: Grace | None = None


class ReplayBody(Body, frozen=True):
    """Exactly one: a store position (events after it) or a time (events at or after it)."""

    from_position: Annotated[int, Meta(ge=0, le=2**63 - 1)] | None = None
    from_time: datetime | None = None


class EndpointOut(Out, frozen=True):
    id: UUID
    organization_id: UUID
    url: str
    event_types: list[str]
    description: str
    metadata: dict[str, Any]
    is_active: bool
    status: str
    disabled_reason: str | None
    failure_count: int
    last_success_at: datetime | None
    last_failure_at: datetime | None
    secret_rolled_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class EndpointPage(Out, frozen=True):
    data: list[EndpointOut]
    pagination: PaginationInfo


class SecretIssued(Out, frozen=True):
    id: UUID
    secret: str  # shown once; the event store holds it only sealed
    version: int
    position: int | None


class AttemptOut(Out, frozen=True):
    attempt_number: int
    status: str
    response_code: int | None
    response_body: str | None
    error_message: str | None
    started_at: datetime
    duration_ms: int


class DeliveryOut(Out, frozen=True):
    """The seed's WebhookDelivery, with the event's stream, version and store position."""

    id: UUID
    webhook_endpoint_id: UUID
    event_id: UUID
    event_type: str
    stream_id: UUID
    stream_version: int
    position: int
    attempt_number: int
    status: str
    response_code: int | None
    response_body: str | None
    error_message: str | None
    delivered_at: datetime | None
    next_retry_at: datetime | None
    created_at: datetime
    attempts: list[AttemptOut] | None = None


class DeliveryPage(Out, frozen=True):
    data: list[DeliveryOut]
    pagination: PaginationInfo


class WebhookEventMetadata(Out, frozen=True):
    source: str
    version: str
    caused_by: dict[str, str]
    correlation_id: str = ""


class WebhookEventOut(Out, frozen=True):
    """The seed's WebhookEvent: the signed body every endpoint received, and its deliveries
    (one per endpoint, redelivery and replay, each with every attempt)."""

    id: UUID
    type: str
    organization_id: UUID
    stream_id: UUID
    stream_type: str
    stream_version: int
    position: int
    data: dict[str, Any]
    metadata: WebhookEventMetadata
    created_at: datetime
    deliveries: list[DeliveryOut] = []
