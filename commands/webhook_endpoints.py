"""Webhook endpoint use cases: register (the secret is returned once), update, roll the secret,
disable, enable, delete, and ask for a test event, a redelivery or a replay.

A secret reads ``whsec_<base64 of 32 random bytes>`` (the Standard Webhooks form); the event
store holds it only sealed (the ``Sealer`` port). A destination is checked by the SSRF guard
(the ``Destinations`` port) before any event is written, and again at every delivery.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import NamedTuple
from uuid import UUID

import msgspec

from commands.ports import Destinations, EventStore, Sealer
from commands.runner import Context, Loaded, Result, StreamWrite, decided, execute, load, write
from domain.errors import ForeignNotFound, NotFound
from domain.organization import decider as org
from domain.organization.rules import require_live
from domain.webhook_endpoint import decider as wh
from domain.webhook_endpoint.commands import (
    DisableEndpoint,
    EnableEndpoint,
    RegisterEndpoint,
    RollSecret,
    UpdateEndpoint,
    WebhookEndpointCommand,
)


class Issued(NamedTuple):
    result: Result
    secret: str


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpointCommands:
    def __init__(self, store: EventStore, sealer: Sealer, destinations: Destinations, *,
                 retries: int = 5) -> None:
        self.store, self.sealer, self.destinations = store, sealer, destinations
        self.retries = retries

    def register(self, ctx: Context, command: RegisterEndpoint) -> Issued:
        """``command.sealed_secret`` is ignored: the secret is made and sealed here."""
        self.destinations(wh.check_url(command.url))
        endpoint_id, secret = ctx.new_id(), new_secret()
        sealed = msgspec.structs.replace(
            command, sealed_secret=self.sealer.seal(secret, endpoint_id))

        def attempt() -> list[StreamWrite]:
            require_live(load(self.store, org.DECIDER, command.organization_id).state)
            return [decided(self.store, wh.DECIDER, endpoint_id, command.organization_id,
                            sealed)]

        return Issued(execute(self.store, ctx, attempt, retries=self.retries), secret)

    def update(self, ctx: Context, tenant: UUID | None, endpoint_id: UUID,
               command: UpdateEndpoint, active: bool | None = None) -> Result:
        """A PATCH: the changes, then enabling or disabling (by hand) when ``active`` says so."""
        if command.url is not None:
            self.destinations(wh.check_url(command.url))
        switch: list[WebhookEndpointCommand] = [] if active is None else [
            EnableEndpoint() if active else DisableEndpoint(reason="manual")]
        return self.handle(ctx, tenant, endpoint_id, command, *switch)

    def roll_secret(self, ctx: Context, tenant: UUID | None, endpoint_id: UUID,
                    grace: timedelta) -> Issued:
        secret = new_secret()
        command = RollSecret(sealed_secret=self.sealer.seal(secret, endpoint_id),
                             previous_until=ctx.clock() + grace)
        return Issued(self.handle(ctx, tenant, endpoint_id, command), secret)

    def handle(self, ctx: Context, tenant: UUID | None, endpoint_id: UUID,
               *commands: WebhookEndpointCommand) -> Result:
        """Commands on an existing endpoint, decided in turn (``tenant`` None: the operator or
        the sender)."""
        def attempt() -> list[StreamWrite]:
            current = self._owned(tenant, endpoint_id)
            assert current.state.organization_id is not None
            return [write(wh.DECIDER, endpoint_id, current.state.organization_id,
                          current.version, wh.DECIDER.decide_all(commands, current.state))]

        return execute(self.store, ctx, attempt, retries=self.retries)

    def _owned(self, tenant: UUID | None, endpoint_id: UUID) -> Loaded[wh.WebhookEndpoint]:
        current = load(self.store, wh.DECIDER, endpoint_id)
        if current.state.status == "absent":
            raise NotFound("webhook endpoint not found", code="webhook_endpoint_not_found")
        if tenant is not None and current.state.organization_id != tenant:
            raise ForeignNotFound("webhook endpoint not found", code="webhook_endpoint_not_found")
        return current
