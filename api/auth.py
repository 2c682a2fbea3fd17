"""Access: every /v1 route needs the platform-operator bearer token (until real principals)."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.errors import ApiException
from domain.envelope import Actor

OPERATOR = Actor(kind="operator", id="platform-operator")


def operator_guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    token = connection.app.state.container.settings.admin_token
    header = connection.headers.get("authorization", "")
    scheme, _sep, given = header.partition(" ")
    if not header:
        raise ApiException(401, "unauthorized", "missing Authorization: Bearer <token>",
                           headers={"WWW-Authenticate": 'Bearer realm="chronicle"'})
    if scheme.lower() != "bearer" or not token or not hmac.compare_digest(
            given.strip().encode(), token.encode()):
        raise ApiException(401, "invalid_token", "the bearer token is not valid",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    connection.scope.setdefault("state", {})["actor"] = OPERATOR
