"""The usage quota on the request path: one dict lookup in the API process's meter
(infra/metering.py); an organization past a blocking plan's quota is refused with 429 until
its month ends (storage and users: the writes that add; a DELETE frees room). Its usage routes
stay open, so it can see why."""

from __future__ import annotations

import math
import time
from typing import Any

from litestar.connection import ASGIConnection

from api.platform.errors import ApiException

NOT_ADDING = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
OPEN_PATH = "/v1/usage"


def usage_guard(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    org = connection.scope["state"].get("organization_id")
    if org is None:
        return
    meter = connection.app.state.container.meter
    block = meter.blocked.get(org) if meter is not None else None
    if block is None or (block.writes_only and connection.scope.get("method") in NOT_ADDING) \
            or connection.scope["path"].startswith(OPEN_PATH):
        return
    retry_after = max(1, math.ceil(block.until.timestamp() - time.time()))
    raise ApiException(429, "rate_limited", params={"retry_after": retry_after},
                       headers={"Retry-After": str(retry_after)},
                       details={"quota": block.metric, "used": block.used, "limit": block.limit,
                                "period": block.period})
