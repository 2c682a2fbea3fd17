"""Rate limiting on every /v1 request: one atomic Redis check, headers, 429, failure modes."""

from __future__ import annotations

import logging

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Message, Scope

from api.auth.principal import Principal
from api.platform.errors import ApiException
from domain.envelope import Actor
from domain.organization.plans import RateLimit
from infra.container import Container
from infra.ratelimit import Decision, LimiterUnavailable, Limits
from infra.ratelimit import Scope as LimitScope
from infra.settings import Settings

log = logging.getLogger("chronicle.ratelimit")
STATE_KEY = "ratelimit_headers"


def operator_limits(settings: Settings) -> Limits:
    return Limits(settings.rate_limit_per_second, settings.rate_limit_burst,
                  settings.rate_limit_per_minute, settings.rate_limit_per_hour,
                  settings.rate_limit_per_day)


def limits_of(limit: RateLimit) -> Limits:
    return Limits(limit.requests_per_second, limit.burst_limit, limit.requests_per_minute,
                  limit.requests_per_hour, limit.requests_per_day)


def scopes_for(actor: Actor, principal: Principal | None, settings: Settings) -> list[LimitScope]:
    """The scopes a principal is limited by: itself (an API key by its override or its
    organization's plan defaults; users and OAuth clients by the plan defaults) and by its
    organization's plan; the platform operator by the settings' limits."""
    if principal is None:
        return [LimitScope(f"{actor.kind}:{actor.id}", operator_limits(settings))]
    return [LimitScope(f"{principal.kind}:{principal.id}", limits_of(principal.rate_limit)),
            LimitScope(f"org:{principal.organization_id}", limits_of(principal.organization_limit))]


def headers(decision: Decision) -> dict[str, str]:
    values = {"Limit": str(decision.limit), "Remaining": str(decision.remaining),
              "Reset": str(decision.reset_s)}
    out = {f"RateLimit-{k}": v for k, v in values.items()}
    out.update({f"X-RateLimit-{k}": v for k, v in values.items()})
    return out


async def decide(container: Container, scopes: list[LimitScope]) -> Decision:
    try:
        return await container.limiter.check(scopes)
    except LimiterUnavailable as exc:
        if container.settings.rate_limit_failure_mode == "closed":
            log.warning("rate limiter unavailable, failing closed: %s", exc)
            raise ApiException(503, "rate_limiter_unavailable",
                               "rate limiting is unavailable; try again shortly",
                               headers={"Retry-After": "1"}) from None
        log.warning("rate limiter unavailable, failing open to a local bucket: %s", exc)
        return container.local_limiter.check(scopes)


async def rate_limit_guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """Runs after the auth guard: charges the principal's scopes or refuses with 429."""
    container: Container = connection.app.state.container
    if not container.settings.enable_rate_limiting:
        return
    actor: Actor = connection.scope["state"]["actor"]
    principal = connection.scope["state"].get("principal")
    decision = await decide(container, scopes_for(actor, principal, container.settings))
    limit_headers = headers(decision)
    if not decision.allowed:
        retry = str(max(decision.retry_after_s, 1))
        raise ApiException(429, "rate_limited",
                           f"rate limit exceeded; retry after {retry} s",
                           params={"retry_after": retry},
                           headers={**limit_headers, "Retry-After": retry})
    connection.scope["state"][STATE_KEY] = limit_headers


def add_rate_limit_headers(_message: Message, scope: Scope, values: dict[str, str]) -> None:
    """The limit headers of an admitted request."""
    found = scope.get("state", {}).get(STATE_KEY)
    if found:
        values.update(found)
