"""Example requests and responses of the organization routes, for the OpenAPI document.

Responses are built from the response structs, so an example that drifts from its schema fails
at import; request examples are checked against their structs in tests/integration/test_openapi.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from api.organizations.schemas import History, HistoryItem, OrganizationOut, OrganizationPage
from api.platform.schemas import CommandAccepted, PaginationInfo
from domain.envelope import Actor
from domain.organization.events import OrganizationSettings, SecuritySettings

ORG_ID = UUID("0b7c6f9e-3d4a-4c1b-9f2e-8a5d7c3b1e60")
CREATED_AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
UPDATED_AT = datetime(2026, 11, 2, 14, 5, tzinfo=UTC)
OPERATOR = Actor(kind="operator", id="platform-operator")

CREATE_REQUESTS: dict[str, Any] = {
    "minimal": {"name": "Acme", "slug": "acme"},
    "with plan and settings": {
        "name": "Acme", "slug": "acme", "plan": "starter",
        "settings": {"timezone": "Asia/Tokyo", "ipWhitelist": ["10.0.0.0/8"],
                     "security": {"requireHttps": True, "sessionTimeout": 30}}},
}
UPDATE_REQUESTS: dict[str, Any] = {
    "rename": {"name": "Acme Inc."},
    "change plan": {"plan": "professional"},
    "merge settings": {"settings": {"security": {"sessionTimeout": 15},
                                    "dataRetention": {"logs": 30}}},
    "override the plan's rate limits (operator only)": {"rateLimit": {
        "requestsPerSecond": 2000, "burstLimit": 4000, "requestsPerMinute": 120000,
        "requestsPerHour": 5000000, "requestsPerDay": 100000000}},
    "override the plan's policy past a quota (operator only)": {"quotaPolicy": "overage"},
}
SUSPEND_REQUESTS: dict[str, Any] = {"with a reason": {"reason": "unpaid invoice"}}


def _json(value: msgspec.Struct) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


CREATED = _json(CommandAccepted(id=ORG_ID, version=1, position=1042))
ACCEPTED = _json(CommandAccepted(id=ORG_ID, version=4, position=1057))
_ORGANIZATION = OrganizationOut(
    id=ORG_ID, name="Acme Inc.", slug="acme", plan="professional",
    settings=OrganizationSettings(timezone="Asia/Tokyo", ip_whitelist=("10.0.0.0/8",),
                                  security=SecuritySettings(session_timeout=15)),
    status="active", version=4, created_at=CREATED_AT, updated_at=UPDATED_AT)
ORGANIZATION = _json(_ORGANIZATION)
PAGE = _json(OrganizationPage(data=[_ORGANIZATION], pagination=PaginationInfo(
    limit=20, total=1, total_pages=1, has_next=False, has_prev=False)))
HISTORY = _json(History(organization_id=ORG_ID, data=[
    HistoryItem(event_id=UUID("6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"), type="organization.Created",
                version=1, occurred_at=CREATED_AT, actor=OPERATOR,
                request_id="req_5f0c9e4b2d8a4f1e9b7c3a6d2e1f0a9b",
                correlation_id="req_5f0c9e4b2d8a4f1e9b7c3a6d2e1f0a9b", causation_id="",
                data={"name": "Acme", "slug": "acme", "plan": "free"}),
    HistoryItem(event_id=UUID("7d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5a"), type="organization.Renamed",
                version=2, occurred_at=UPDATED_AT, actor=OPERATOR,
                request_id="req_0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d",
                correlation_id="req_0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d", causation_id="",
                data={"name": "Acme Inc.", "previous_name": "Acme"}),
]))
