"""Who is calling: the platform operator's token, or an organization's API key.

API keys are checked against an in-process cache (api/keycache.py) that the projector's
events invalidate, so authentication needs no database round trip on the hot path.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api import signing
from api.errors import ApiException
from api.principal import Principal
from commands.apikeys import hash_key, parse
from domain.apikey.decider import accepts
from domain.envelope import Actor
from infra.container import Container

OPERATOR = Actor(kind="operator", id="platform-operator")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="chronicle"'}


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
    token = container.settings.admin_token
    if scheme.lower() != "bearer" or not token or not hmac.compare_digest(
            given.encode(), token.encode()):
        raise ApiException(401, "invalid_token", "the bearer token is not valid",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    state.update(actor=OPERATOR, organization_id=None, principal=None)
