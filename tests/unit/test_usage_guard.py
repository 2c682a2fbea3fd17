"""What a blocked organization's request is answered, per its plan's policy (api/usage/guard.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from api.usage.guard import refusal, refused
from infra.metering import Block

ORG = uuid.uuid4()
UNTIL = datetime(2099, 1, 1, tzinfo=UTC)


def block(policy: str = "block_429", *, writes_only: bool = False, plan: str = "free") -> Block:
    return Block("users" if writes_only else "apiCalls", 6, 5, "2098-12", UNTIL, writes_only,
                 policy, plan)  # type: ignore[arg-type]


def test_calls_past_the_quota_refuse_reads_and_writes_but_not_the_usage_routes() -> None:
    for method, path in [("GET", "/v1/users"), ("POST", "/v1/users"), ("DELETE", "/v1/x/1")]:
        assert refused(block(), ORG, method, path)
    assert not refused(block(), ORG, "GET", "/v1/usage")
    assert not refused(block(), ORG, "GET", "/v1/usage/statements")


def test_the_plan_change_of_its_own_organization_is_open_and_nothing_else_of_it() -> None:
    assert not refused(block(), ORG, "PATCH", f"/v1/organizations/{ORG}")
    assert refused(block(), ORG, "GET", f"/v1/organizations/{ORG}")
    assert refused(block(), ORG, "PATCH", f"/v1/organizations/{uuid.uuid4()}")


def test_storage_or_users_past_the_quota_refuse_only_the_writes_that_add() -> None:
    full = block("block_402", writes_only=True)
    assert refused(full, ORG, "POST", "/v1/users")
    assert refused(full, ORG, "PATCH", "/v1/users/1")
    assert not refused(full, ORG, "GET", "/v1/users")
    assert not refused(full, ORG, "DELETE", "/v1/users/1")


def test_block_429_answers_rate_limited_with_retry_after_until_the_month_ends() -> None:
    error = refusal(block("block_429"), ORG)
    assert (error.status, error.code, error.reason) == (429, "rate_limited", "rate_limited")
    assert 0 < int(error.headers["Retry-After"]) == error.params["retry_after"]
    assert error.details == {"quota": "apiCalls", "used": 6, "limit": 5, "period": "2098-12"}


def test_block_402_answers_payment_required_with_the_quota_and_where_to_upgrade() -> None:
    error = refusal(block("block_402", plan="starter"), ORG)
    assert (error.status, error.code, error.reason) == (
        402, "payment_required", "quota_exceeded_payment_required")
    assert error.headers == {}
    assert error.message == ("the starter plan's apiCalls quota for 2098-12 is used up;"
                             " upgrade the plan to go on")
    assert error.details == {
        "quota": "apiCalls", "used": 6, "limit": 5, "period": "2098-12", "plan": "starter",
        "resetsAt": "2099-01-01T00:00:00+00:00",
        "upgrade": {"method": "PATCH", "href": f"/v1/organizations/{ORG}",
                    "plans": ["professional", "enterprise"]}}


def test_the_largest_plan_has_nowhere_to_upgrade_to() -> None:
    error = refusal(block("block_402", plan="enterprise"), ORG)
    assert isinstance(error.details, dict)
    assert error.details["upgrade"]["plans"] == []
