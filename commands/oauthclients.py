"""OAuth client use cases: register (the secret is returned once), update, rotate the secret,
delete, and authenticate a client at the token endpoint.

A secret reads ``cs_<secret>``; only HMAC-SHA256(API_SECRET, secret) is stored, as for API
keys. The token endpoint loads the client's stream from the event store (not the read model),
so a client can use its credentials the moment registration answered.
"""

from __future__ import annotations

import hmac
import secrets
from typing import NamedTuple
from uuid import UUID

from commands.apikeys import hash_key
from commands.ports import EventStore
from commands.runner import Context, Loaded, Result, Seal, StreamWrite, decided, execute, load, write
from domain.errors import ForeignNotFound, NotFound
from domain.oauthclient import decider as client
from domain.oauthclient.events import GrantType
from domain.organization import decider as org
from domain.organization.rules import require_active


class Issued(NamedTuple):
    result: Result
    secret: str


def new_secret() -> str:
    return f"cs_{secrets.token_urlsafe(32)}"


class OAuthClientCommands:
    def __init__(self, store: EventStore, api_secret: str, *, retries: int = 5) -> None:
        self.store, self.api_secret, self.retries = store, api_secret, retries

    def register(self, ctx: Context, organization_id: UUID, *, name: str,
                 redirect_uris: tuple[str, ...], scopes: tuple[str, ...],
                 grant_types: tuple[GrantType, ...], seal: Seal | None = None) -> Issued:
        client_id = ctx.new_id()
        secret = new_secret()
        command = client.RegisterClient(
            organization_id=organization_id, name=name,
            hashed_secret=hash_key(self.api_secret, secret), redirect_uris=redirect_uris,
            scopes=scopes, grant_types=grant_types, created_by=ctx.actor.id)

        def attempt() -> list[StreamWrite]:
            require_active(load(self.store, org.DECIDER, organization_id).state,
                           "a suspended organization cannot register OAuth clients",
                           "organization_suspended_no_clients")
            return [decided(self.store, client.DECIDER, client_id, organization_id, command)]

        return Issued(execute(self.store, ctx, attempt, retries=self.retries, seal=seal), secret)

    def update(self, ctx: Context, organization_id: UUID | None, client_id: UUID,
               command: client.UpdateClient) -> Result:
        return self._handle(ctx, organization_id, client_id, command)

    def rotate_secret(self, ctx: Context, organization_id: UUID | None,
                      client_id: UUID) -> Issued:
        secret = new_secret()
        command = client.RotateSecret(hashed_secret=hash_key(self.api_secret, secret))
        return Issued(self._handle(ctx, organization_id, client_id, command), secret)

    def delete(self, ctx: Context, organization_id: UUID | None, client_id: UUID) -> Result:
        return self._handle(ctx, organization_id, client_id, client.DeleteClient())

    def _handle(self, ctx: Context, organization_id: UUID | None, client_id: UUID,
                command: client.OAuthClientCommand) -> Result:
        def attempt() -> list[StreamWrite]:
            current = self._owned(organization_id, client_id)
            assert current.state.organization_id is not None
            return [write(client.DECIDER, client_id, current.state.organization_id,
                          current.version, client.decide(command, current.state))]

        return execute(self.store, ctx, attempt, retries=self.retries)

    def _owned(self, organization_id: UUID | None,
               client_id: UUID) -> Loaded[client.OAuthClient]:
        """The client's stream; ``organization_id`` None is the operator, who sees every one."""
        current = load(self.store, client.DECIDER, client_id)
        if current.state.status == "absent":
            raise NotFound("OAuth client not found", code="oauth_client_not_found")
        if organization_id is not None and current.state.organization_id != organization_id:
            raise ForeignNotFound("OAuth client not found", code="oauth_client_not_found")
        return current

    def authenticate(self, client_id: str, secret: str) -> tuple[UUID, client.OAuthClient] | None:
        """The active client these credentials belong to, or None."""
        try:
            found_id = UUID(client_id)
        except ValueError:
            return None
        state = load(self.store, client.DECIDER, found_id).state
        if state.status != "active" or not client_secret_matches(
                state.hashed_secret, hash_key(self.api_secret, secret)):
            return None
        return found_id, state

    def get(self, client_id: UUID) -> client.OAuthClient:
        return load(self.store, client.DECIDER, client_id).state


def client_secret_matches(stored: str, presented: str) -> bool:
    return bool(stored) and hmac.compare_digest(stored, presented)
