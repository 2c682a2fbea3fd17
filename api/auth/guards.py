"""Who is calling: the platform operator's token, an organization's API key, or a JWT access
token (a user's session or an OAuth client).

API keys are checked against an in-process cache (infra/keycache.py) that the command path
and the projector invalidate, with a short TTL, and whose secrets' state is folded from the
key's events; JWTs against the in-memory signing key ring and deny set (infra/tokens.py), so
authentication needs no database round trip on the hot path.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.auth import signing
from api.auth.principal import Principal
from api.platform.errors import ApiException
from commands.apikeys import hash_key, parse
from domain.apikey.decider import accepts
from domain.envelope import Actor
from domain.organization.plans import PLAN_LIMITS
from infra.container import Container
from infra.tokens import Claims, TokenError, looks_like_jwt

OPERATOR = Actor(kind="operator", id="platform-operator")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="chronicle"'}
INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


async def operator_guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """Authenticate every /v1 request; sets ``actor``, ``organization_id`` and ``principal``."""
    container: Container = connection.app.state.container
    header = connection.headers.get("authorization", "")
    scheme, _sep, given = header.partition(" ")
    given = given.strip()
    if not header:
        raise ApiException(401, "unauthorized", "missing Authorization: Bearer <token>",
                           headers=CHALLENGE)
    state = connection.scope.setdefault("state", {})
    if scheme.lower() == "bearer" and (presented := parse(given)) is not None:
        cached = await container.key_cache.get(presented.key_id)
        hashed = hash_key(container.api_keys.api_secret, given)
        now = datetime.now(UTC)
        if cached is None or not accepts(cached.state, hashed, now):
            raise ApiException(401, "invalid_api_key",
                               "the API key is not valid, or was revoked or expired",
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        await signing.verify(connection, container, hashed, cached.state.require_signature)
        container.key_cache.touch(cached.id, now)
        state.update(actor=Actor(kind="api_key", id=str(cached.id)),
                     organization_id=cached.organization_id,
                     principal=Principal("api_key", cached.id, cached.organization_id,
                                         cached.permissions, cached.rate_limit,
                                         cached.organization_limit, ceiling=cached.ceiling,
                                         role=cached.role))
        return
    if scheme.lower() == "bearer" and looks_like_jwt(given):
        claims = await verified(container, given, datetime.now(UTC))
        state.update(actor=Actor(kind=claims.kind, id=claims.sub),
                     organization_id=claims.org, principal=await principal_from(container, claims),
                     claims=claims)
        return
    token = container.settings.admin_token
    if scheme.lower() != "bearer" or not token or not hmac.compare_digest(
            given.encode(), token.encode()):
        raise ApiException(401, "invalid_token", "the bearer token is not valid",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    state.update(actor=OPERATOR, organization_id=None, principal=None)


async def verified(container: Container, token: str, now: datetime) -> Claims:
    """The claims of a valid, unrevoked access token, or a 401 naming why not."""
    try:
        claims = container.tokens.verify(token, now)
    except TokenError as exc:
        if exc.code == "token_expired":
            raise ApiException(401, "token_expired", headers=INVALID) from None
        raise ApiException(401, "token_invalid", headers=INVALID) from None
    if f"jti:{claims.jti}" in container.deny or (
            claims.sid is not None and f"sid:{claims.sid}" in container.deny):
        raise ApiException(401, "token_revoked", headers=INVALID)
    return claims


async def principal_from(container: Container, claims: Claims) -> Principal:
    """The rate limits come from the organization's plan (cached in process)."""
    policy = await container.org_cache.get(claims.org)
    limit = policy.limit if policy is not None else PLAN_LIMITS["free"]
    return Principal("user" if claims.kind == "user" else "oauth_client",
                     uuid_of(claims.sub), claims.org, claims.permissions, limit, limit,
                     session_id=claims.sid, role=claims.role)


def uuid_of(subject: str) -> UUID:
    try:
        return UUID(subject)
    except ValueError:
        raise ApiException(401, "token_invalid", headers=INVALID) from None
