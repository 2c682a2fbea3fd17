"""Webhook endpoint events, tagged ``webhook_endpoint.<Name>``.

A secret travels only sealed (AES-GCM under a key derived from ENCRYPTION_KEY, the endpoint's
id as associated data): the event store never holds a signing secret in the clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

# Why an endpoint stopped receiving: it answered 410 Gone, it kept failing for
# WEBHOOK_DISABLE_AFTER, or someone disabled it.
DisableReason = Literal["gone", "failures", "manual"]


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class EndpointRegistered(_Event, tag="webhook_endpoint.Registered", frozen=True):
    organization_id: UUID
    url: str
    event_types: tuple[str, ...]
    description: str
    metadata: dict[str, Any]
    active: bool
    sealed_secret: str


class EndpointUpdated(_Event, tag="webhook_endpoint.Updated", frozen=True):
    url: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


class SecretRolled(_Event, tag="webhook_endpoint.SecretRolled", frozen=True):
    """The new secret signs from now on; the previous one also signs until ``previous_until``."""

    sealed_secret: str
    previous_until: datetime


class EndpointDisabled(_Event, tag="webhook_endpoint.Disabled", frozen=True):
    reason: DisableReason
    detail: str = ""


class EndpointEnabled(_Event, tag="webhook_endpoint.Enabled", frozen=True):
    pass


class EndpointDeleted(_Event, tag="webhook_endpoint.Deleted", frozen=True):
    pass


class TestRequested(_Event, tag="webhook_endpoint.TestRequested", frozen=True):
    """Send the endpoint one ``webhook.test`` event (``test_id`` is its event id)."""

    test_id: UUID


class RedeliveryRequested(_Event, tag="webhook_endpoint.RedeliveryRequested", frozen=True):
    """Send one earlier delivery's event again, as a new delivery."""

    delivery_id: UUID


class ReplayRequested(_Event, tag="webhook_endpoint.ReplayRequested", frozen=True):
    """Send the organization's matching events again, from a store position or a time on."""

    from_position: int | None = None
    from_time: datetime | None = None


WebhookEndpointEvent = (EndpointRegistered | EndpointUpdated | SecretRolled | EndpointDisabled
                        | EndpointEnabled | EndpointDeleted | TestRequested
                        | RedeliveryRequested | ReplayRequested)
