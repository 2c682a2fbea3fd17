"""The caller's organization's own rules, enforced on every request it authenticates:
its status (suspended or deleted organizations' credentials stop working), ipWhitelist,
requireHttps and allowedOrigins (the seed's OrganizationSettings).

The policy comes from an in-process cache (infra/orgcache.py) that the organizations
projector's events invalidate, so enforcement needs no database round trip per request.
An organization not yet in the read model (its projection lags a brand-new key's) has no
policy yet and is not refused.
"""

from __future__ import annotations

import dataclasses

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Scope

from api.auth.principal import Principal
from api.platform import proxy
from api.platform.cors import is_preflight
from api.platform.errors import ApiException
from infra.container import Container
from infra.orgcache import OrgPolicy

STATE_KEY = "org_policy"


def ip_allowed(policy: OrgPolicy, scope: Scope) -> bool:
    if not policy.networks:
        return True
    address = proxy.client_ip(scope)
    if address is None:
        return False
    candidates = [address]
    if address.version == 6 and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(a in net for a in candidates for net in policy.networks)


def enforce(policy: OrgPolicy, scope: Scope) -> None:
    if policy.status == "deleted":
        raise ApiException(403, "forbidden", reason="organization_closed")
    if policy.status == "suspended":
        raise ApiException(403, "forbidden", reason="organization_suspended")
    if not ip_allowed(policy, scope):
        client = proxy.client_ip(scope)
        raise ApiException(403, "forbidden", reason="ip_not_allowed",
                           params={"ip": str(client) if client else "unknown"})
    if policy.require_https and not proxy.is_secure(scope):
        raise ApiException(403, "forbidden", reason="https_required")


async def organization_policy_guard(connection: ASGIConnection, _handler: BaseRouteHandler,
                                    ) -> None:
    """Runs after authentication: applies the principal's organization's policy."""
    state = connection.scope["state"]
    principal: Principal | None = state.get("principal")
    if principal is None:
        return
    container: Container = connection.app.state.container
    policy = await container.org_cache.get(principal.organization_id)
    if policy is None:
        return
    enforce(policy, connection.scope)
    state[STATE_KEY] = policy
    if principal.organization_limit != policy.limit:  # the plan changed since the key was cached
        state["principal"] = dataclasses.replace(principal, organization_limit=policy.limit)


def organization_origins(origin: str, scope: Scope) -> bool:
    """The per-organization CORS check (plugged into api/platform/cors.py). A preflight carries no
    credentials, so it is admitted when ANY live organization allows the origin; the actual
    response then gets CORS headers only when the caller's own organization allows it."""
    wanted = origin.lower().rstrip("/")
    if is_preflight(scope):
        app = scope.get("app")
        container: Container | None = getattr(app.state, "container", None) if app else None
        return container is not None and wanted in container.org_cache.any_origins
    policy: OrgPolicy | None = scope.get("state", {}).get(STATE_KEY)
    return policy is not None and wanted in policy.allowed_origins
