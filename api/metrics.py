"""GET /metrics: the Prometheus text exposition of every API worker of this server.

Behind the operator token (a bearer, as Prometheus' ``authorization`` scrape setting sends it):
the API's port is the public one, and route-by-route traffic and error figures are not for
tenants. The workers' own /metrics (relay, projector) are on their internal health ports,
unauthenticated like their /health. Not rate limited (no /v1 guard) and not in the request log.
"""

from __future__ import annotations

import hmac

from litestar import Request, Response, get

from api.platform.dependencies import Services
from api.platform.errors import ApiException
from api.platform.telemetry import Telemetry
from infra.metrics import CONTENT_TYPE, render

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="chronicle"'}


def require_operator_token(request: Request, token: str) -> None:
    header = request.headers.get("authorization", "")
    if not header:
        raise ApiException(401, "unauthorized", headers=CHALLENGE)
    scheme, _sep, given = header.partition(" ")
    if scheme.lower() != "bearer" or not token or not hmac.compare_digest(
            given.strip().encode(), token.encode()):
        raise ApiException(401, "invalid_token",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


@get("/metrics", include_in_schema=False)
async def metrics(request: Request, container: Services) -> Response[bytes]:
    require_operator_token(request, container.settings.admin_token)
    telemetry: Telemetry = request.app.state.telemetry
    body = render(await telemetry.families(container.pool))
    return Response(body, media_type=CONTENT_TYPE)
