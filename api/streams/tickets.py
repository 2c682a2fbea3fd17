"""Stream tickets: what a browser puts in a live stream's URL instead of a credential.

EventSource and the browser WebSocket cannot set an Authorization header, and a long-lived
key in a URL leaks into proxies' and servers' logs. ``POST /v1/events/stream/tickets``
(authenticated as any /v1 call, with the streams' permission) answers a ticket that opens one
stream, once, within TICKET_SECONDS, as the caller that asked for it: its organization, its
permissions. Redis holds it under its SHA-256 (a dump of Redis opens nothing), with the TTL,
and redeeming it is one GETDEL, so two connections cannot share it, even across processes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import QueryParameter
from redis.exceptions import RedisError

from api.apikeys.routes import no_idempotency
from api.audit.routes import RESOURCE
from api.auth.access import Tenant, require
from api.auth.guards import operator_guard
from api.auth.principal import Principal
from api.platform import openapi as docs
from api.platform.dependencies import Services
from api.platform.errors import ApiException
from api.platform.schemas import Out
from api.streams.refusals import note_key
from domain import limits as lim
from domain.envelope import Actor
from infra.container import Container

TICKET_SECONDS = 60
PREFIX = "st_"  # infra/redaction.py redacts it in any logged text
INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
TicketParam = Annotated[str | None, QueryParameter(
    max_length=lim.MAX_STREAM_TICKET, required=False,
    description="A stream ticket (POST /v1/events/stream/tickets) instead of Authorization")]


class Grant(msgspec.Struct, frozen=True):
    """Who redeems the ticket: the caller that asked for it."""

    actor: Actor
    organization_id: UUID | None  # None: the operator
    principal: Principal | None


class TicketOut(Out, frozen=True):
    ticket: str
    expires_at: datetime
    expires_in: int  # seconds


def _key(container: Container, ticket: str) -> str:
    digest = hashlib.sha256(ticket.encode()).hexdigest()
    return f"{container.settings.redis_key_prefix}stream-ticket:{digest}"


def _refused() -> ApiException:
    # The catalog's invalid_token: an unknown, used and expired ticket are told apart nowhere.
    return ApiException(401, "invalid_token", headers=INVALID,
                        details={"credential": "ticket"})


def _unavailable() -> ApiException:
    return ApiException(503, "service_unavailable", headers={"Retry-After": "1"})


class StreamTicketController(Controller):
    path = "/v1/events/stream/tickets"
    tags = ["events"]

    @post("/", status_code=201, summary="A single-use ticket (60 s) that opens one live stream"
          " as the caller: `GET /v1/events/stream?ticket=…` or `/v1/ws?ticket=…`",
          **docs.documented(201, TicketOut, "permission_denied", "idempotency_not_supported",
                            optional_body=True))
    async def issue(self, request: Request, container: Services, tenant: Tenant) -> TicketOut:
        no_idempotency(request)
        require(request, RESOURCE, "read", tenant)
        state = request.scope["state"]
        grant = Grant(state["actor"], state.get("organization_id"), state.get("principal"))
        ticket = PREFIX + secrets.token_urlsafe(32)
        try:
            await container.redis.set(_key(container, ticket), msgspec.json.encode(grant),
                                      ex=TICKET_SECONDS)
        except RedisError:
            raise _unavailable() from None
        expires = datetime.now(UTC) + timedelta(seconds=TICKET_SECONDS)
        return TicketOut(ticket=ticket, expires_at=expires, expires_in=TICKET_SECONDS)


async def redeem(connection: ASGIConnection, ticket: str) -> None:
    """Authenticate ``connection`` as its ticket's caller, using the ticket up (401 for an
    unknown, used or expired one)."""
    container: Container = connection.app.state.container
    try:
        raw = await container.redis.getdel(_key(container, ticket))
    except RedisError:
        raise _unavailable() from None
    if raw is None:
        raise _refused()
    grant = msgspec.json.decode(raw, type=Grant)
    if not await _still_valid(container, grant.principal):
        raise _refused()
    connection.scope.setdefault("state", {}).update(
        actor=grant.actor, organization_id=grant.organization_id, principal=grant.principal)


async def _still_valid(container: Container, principal: Principal | None) -> bool:
    """Whether the ticket's caller was not revoked since it asked (an API key revoked or
    expired, a session logged out): a ticket never outlives its credential."""
    if principal is None:
        return True
    if principal.kind == "api_key":
        cached = await container.key_cache.get(principal.id)
        now = datetime.now(UTC)
        return cached is not None and cached.state.status == "active" and (
            cached.state.expires_at is None or now < cached.state.expires_at)
    return principal.session_id is None or f"sid:{principal.session_id}" not in container.deny


async def authenticate(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """A stream's caller: its ticket when it brings one and no Authorization header, else the
    /v1 authentication."""
    ticket = connection.query_params.get("ticket")
    if ticket and "authorization" not in connection.headers:
        if len(ticket) > lim.MAX_STREAM_TICKET:
            raise _refused()
        await redeem(connection, ticket)
        return
    try:
        await operator_guard(connection, handler)
    except ApiException:
        await note_key(connection)  # for the refusal's audit record
        raise
