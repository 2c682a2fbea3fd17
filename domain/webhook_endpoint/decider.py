"""Webhook endpoint decider: register, update, roll the secret (the previous one keeps signing
for a grace period), disable (410, failures, by hand), enable, delete.

Whether a destination is a public address needs DNS, so the use case asks the SSRF guard; the
decider checks what a URL string alone can tell.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar, assert_never
from urllib.parse import urlsplit
from uuid import UUID

import msgspec

from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.limits import MAX_DISABLE_DETAIL, MAX_WEBHOOK_URL, check_description
from domain.user.rules import metadata as check_metadata
from domain.webhook_endpoint.commands import (
    DeleteEndpoint,
    DisableEndpoint,
    EnableEndpoint,
    Redeliver,
    RegisterEndpoint,
    Replay,
    RollSecret,
    SendTest,
    UpdateEndpoint,
    WebhookEndpointCommand,
)
from domain.webhook_endpoint.events import (
    DisableReason,
    EndpointDeleted,
    EndpointDisabled,
    EndpointEnabled,
    EndpointRegistered,
    EndpointUpdated,
    RedeliveryRequested,
    ReplayRequested,
    SecretRolled,
    TestRequested,
    WebhookEndpointEvent,
)
from domain.webhook_endpoint.filters import check_filters

Status = Literal["absent", "active", "disabled", "deleted"]
T = TypeVar("T")


class WebhookEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    organization_id: UUID | None = None
    url: str = ""
    event_types: tuple[str, ...] = ()
    description: str = ""
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    sealed_secret: str = ""
    previous_sealed_secret: str = ""
    previous_until: datetime | None = None
    disabled_reason: DisableReason | None = None

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The sealed secrets that sign a delivery at ``now``: the current one, and the
        previous one during its grace period."""
        if self.previous_sealed_secret and self.previous_until and now < self.previous_until:
            return (self.sealed_secret, self.previous_sealed_secret)
        return (self.sealed_secret,)


INITIAL = WebhookEndpoint()


def evolve(state: WebhookEndpoint, event: WebhookEndpointEvent) -> WebhookEndpoint:
    match event:
        case EndpointRegistered():
            return WebhookEndpoint(
                status="active" if event.active else "disabled",
                organization_id=event.organization_id, url=event.url,
                event_types=event.event_types, description=event.description,
                metadata=event.metadata, sealed_secret=event.sealed_secret,
                disabled_reason=None if event.active else "manual")
        case EndpointUpdated():
            return msgspec.structs.replace(
                state, url=_or(event.url, state.url),
                event_types=_or(event.event_types, state.event_types),
                description=_or(event.description, state.description),
                metadata=_or(event.metadata, state.metadata))
        case SecretRolled():
            return msgspec.structs.replace(
                state, sealed_secret=event.sealed_secret,
                previous_sealed_secret=state.sealed_secret, previous_until=event.previous_until)
        case EndpointDisabled():
            return msgspec.structs.replace(state, status="disabled",
                                           disabled_reason=event.reason)
        case EndpointEnabled():
            return msgspec.structs.replace(state, status="active", disabled_reason=None)
        case EndpointDeleted():
            return msgspec.structs.replace(state, status="deleted")
        case _:
            return state


def _or(value: T | None, current: T) -> T:
    return current if value is None else value


def decide(command: WebhookEndpointCommand,
           state: WebhookEndpoint) -> list[WebhookEndpointEvent]:
    match command:
        case RegisterEndpoint():
            if state.status != "absent":
                raise AlreadyExists("webhook endpoint already exists",
                                    code="webhook_endpoint_exists")
            return [EndpointRegistered(
                organization_id=command.organization_id, url=check_url(command.url),
                event_types=check_filters(command.event_types),
                description=_description(command.description),
                metadata=check_metadata(command.metadata), active=command.active,
                sealed_secret=command.sealed_secret)]
        case UpdateEndpoint():
            require_present(state)
            return _updated(command, state)
        case RollSecret():
            require_present(state)
            return [SecretRolled(sealed_secret=command.sealed_secret,
                                 previous_until=command.previous_until)]
        case DisableEndpoint():
            require_present(state)
            if state.status == "disabled":
                return []
            return [EndpointDisabled(reason=command.reason,
                                     detail=command.detail[:MAX_DISABLE_DETAIL])]
        case EnableEndpoint():
            require_present(state)
            return [] if state.status == "active" else [EndpointEnabled()]
        case DeleteEndpoint():
            require_present(state)
            return [EndpointDeleted()]
        case SendTest():
            require_present(state)
            return [TestRequested(test_id=command.test_id)]
        case Redeliver():
            require_present(state)
            return [RedeliveryRequested(delivery_id=command.delivery_id)]
        case Replay():
            require_present(state)
            if (command.from_position is None) == (command.from_time is None) or (
                    command.from_position is not None and command.from_position < 0):
                raise InvalidValue("a replay starts at exactly one of fromPosition or fromTime",
                                   code="webhook_replay_invalid")
            return [ReplayRequested(from_position=command.from_position,
                                    from_time=command.from_time)]
        case _:
            assert_never(command)


def _updated(command: UpdateEndpoint, state: WebhookEndpoint) -> list[WebhookEndpointEvent]:
    """Only what changes is in the event; nothing changing is no event at all."""
    url = None if command.url in (None, state.url) else check_url(command.url)
    types = None if command.event_types is None else check_filters(command.event_types)
    types = None if types == state.event_types else types
    description = None if command.description in (None, state.description) else _description(
        command.description)
    meta = None if command.metadata is None or command.metadata == state.metadata else (
        check_metadata(command.metadata))
    if url is None and types is None and description is None and meta is None:
        return []
    return [EndpointUpdated(url=url, event_types=types, description=description, metadata=meta)]


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host, no credentials and no fragment."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
        ok = (len(url) <= MAX_WEBHOOK_URL and parts.scheme in ("http", "https")
              and bool(parts.hostname) and parts.username is None and not parts.fragment
              and not any(c.isspace() for c in url))
    except ValueError:
        ok = False
    if not ok:
        raise InvalidValue("url must be an absolute http(s) URL with a host, without"
                           " credentials or a fragment", field="url",
                           code="webhook_url_invalid")
    return url


def require_present(state: WebhookEndpoint) -> None:
    if state.status in ("absent", "deleted"):
        raise NotFound("webhook endpoint not found", code="webhook_endpoint_not_found")


def _description(raw: str) -> str:
    return check_description(raw, "webhook_description_too_long")


DECIDER = Decider("webhook_endpoint", INITIAL, evolve, decide)
