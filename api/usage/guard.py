"""The usage quota on the request path: one dict lookup in the API process's meter
(infra/metering.py); an organization past a blocking plan's quota is refused, per its plan's
policy, with 429 until its month ends or with 402 and where to upgrade (storage and users: the
writes that add; a DELETE frees room). Its usage routes and the PATCH of its own organization
(a plan change, the way on) stay open."""

from __future__ import annotations

import math
import time
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection

from api.platform.errors import ApiException
from domain.organization.plans import upgrades_of
from infra.metering import Block

NOT_ADDING = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
OPEN_PATH = "/v1/usage"
ORGANIZATIONS = "/v1/organizations/"


def usage_guard(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    org = connection.scope["state"].get("organization_id")
    if org is None:
        return
    meter = connection.app.state.container.meter
    block = meter.blocked.get(org) if meter is not None else None
    if block is None or not refused(block, org, str(connection.scope.get("method", "")),
                                    connection.scope["path"]):
        return
    raise refusal(block, org)


def refused(block: Block, org: UUID, method: str, path: str) -> bool:
    """Whether a blocked organization's request is refused (only blocked ones get here)."""
    if block.writes_only and method in NOT_ADDING:
        return False
    if path.startswith(OPEN_PATH):
        return False
    return not (method == "PATCH" and path == f"{ORGANIZATIONS}{org}")


def refusal(block: Block, org: UUID) -> ApiException:
    figures = {"quota": block.metric, "used": block.used, "limit": block.limit,
               "period": block.period}
    if block.policy == "block_402":
        return ApiException(
            402, "payment_required", reason="quota_exceeded_payment_required",
            params={"quota": block.metric, "plan": block.plan, "period": block.period},
            details={**figures, "plan": block.plan, "resetsAt": block.until.isoformat(),
                     "upgrade": {"method": "PATCH", "href": f"{ORGANIZATIONS}{org}",
                                 "plans": upgrades_of(block.plan)}})
    retry_after = max(1, math.ceil(block.until.timestamp() - time.time()))
    return ApiException(429, "rate_limited", params={"retry_after": retry_after},
                        headers={"Retry-After": str(retry_after)}, details=figures)
