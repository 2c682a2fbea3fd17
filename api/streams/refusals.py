"""The audit record of refused live streams: a socket or an event stream refused for bad
credentials, a missing permission, another organization's id or a connection limit is an
``access.Denied`` of the organization it was refused in, like the identity layer's other
denied requests, through the same batched denial log, but at most STREAM_DENIALS_PER_MINUTE
per organization and process (commands/denials.py ``Budget``).

The organization is the caller's when it authenticated; for bad credentials, the one an API
key's id names (the key exists, its secret did not match, or it was revoked). A refusal
naming no organization (no credentials, an unknown token or ticket) records nothing: there is
no trail to put it in."""

from __future__ import annotations

import time
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.response import Response

from api.platform.bodies import storable
from api.platform.errors import ApiException, ErrorBody, on_api
from api.platform.middleware import ensure_request_id
from api.platform.proxy import origin_of
from commands.apikeys import parse
from commands.denials import Budget
from commands.runner import Context
from domain.access.events import AccessDenied
from domain.envelope import Actor
from infra.container import Container

STREAM_DENIALS_PER_MINUTE = 60
RECORDED = frozenset({401, 403, 404, 429})
budget = Budget(per_window=STREAM_DENIALS_PER_MINUTE, window_s=60.0)


async def note_key(connection: ASGIConnection) -> None:
    """After a refused authentication: the organization and actor the presented API key's id
    names, kept in the connection's state for ``record_refusal`` (the guard's own lookup made
    it a cache hit)."""
    scheme, _, given = connection.headers.get("authorization", "").partition(" ")
    presented = parse(given.strip()) if scheme.lower() == "bearer" else None
    if presented is None:
        return
    container: Container = connection.app.state.container
    cached = await container.key_cache.get(presented.key_id)
    if cached is not None:
        connection.scope.setdefault("state", {})["refused_in"] = (
            Actor(kind="api_key", id=str(cached.id)), cached.organization_id)


def _refused_in(connection: ASGIConnection) -> tuple[Actor, UUID] | None:
    state = connection.scope.get("state", {})
    principal = state.get("principal")
    if principal is not None:
        return state["actor"], principal.organization_id
    found: tuple[Actor, UUID] | None = state.get("refused_in")
    return found


def record_refusal(connection: ASGIConnection, container: Container,
                   exc: ApiException) -> None:
    """Queue the denial record of a refused stream, within the budget."""
    if exc.status not in RECORDED:
        return
    found = _refused_in(connection)
    if found is None or not budget.allows(found[1], time.monotonic()):
        return
    actor, organization_id = found
    origin = origin_of(connection)  # type: ignore[arg-type]
    container.denials.record(
        Context(actor=actor, request_id=ensure_request_id(connection.scope), **origin),
        organization_id,
        AccessDenied(method="GET", path=storable(connection.scope.get("path", ""), 1000),
                     status=exc.status, code=exc.code, reason=exc.reason, **origin))


def on_refused(request: Request, exc: ApiException) -> Response[ErrorBody]:
    """The SSE stream's error handler: the refusal is recorded here, within the budget, so
    the platform's handler must not record it again."""
    record_refusal(request, request.app.state.container, exc)
    exc.audit = False
    return on_api(request, exc)
