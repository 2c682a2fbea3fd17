"""The operator's override of one organization's quota policy (`PATCH /v1/organizations/{id}`
`quotaPolicy`): the event, the read model, `/v1/usage`'s effective policy and the meter's
refusal follow it, null goes back to the plan's; a tenant gets 403 and a bad value 422, and
neither writes anything."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from domain.organization.plans import PLAN_QUOTAS
from infra.settings import Settings
from tests.integration.test_api_keys import as_key, issue, new_org
from tests.integration.test_usage import log_requests, measure, metered

__all__ = ["metered"]  # the module's fixture, shared with test_usage
CALLS = 5  # the free plan's call quota in these tests


@pytest.fixture
def small_free(metered: TestClient[Any]) -> Iterator[TestClient[Any]]:
    meter = metered.app.state.container.meter
    meter.quotas = {**PLAN_QUOTAS, "free": msgspec.structs.replace(
        PLAN_QUOTAS["free"], api_calls=CALLS)}
    try:
        yield metered
    finally:
        meter.quotas = None


def set_policy(client: TestClient[Any], org: str, policy: str | None) -> dict[str, Any]:
    """The operator's PATCH, then the organization once the read model has it."""
    done = client.patch(f"/v1/organizations/{org}", json={"quotaPolicy": policy})
    assert done.status_code == 200, done.text
    read = client.get(f"/v1/organizations/{org}", params={"min_position": done.json()["position"]})
    return read.json()  # type: ignore[no-any-return]


def history(client: TestClient[Any], org: str) -> list[str]:
    return [e["type"] for e in client.get(f"/v1/organizations/{org}/history").json()["data"]]


def test_the_operators_policy_override_is_the_effective_policy_until_cleared(
        small_free: TestClient[Any], settings: Settings) -> None:
    org = new_org(small_free, plan="free")["id"]
    key = issue(small_free, org)
    log_requests(settings, org, CALLS, datetime.now(UTC))
    assert set_policy(small_free, org, "block_402")["quotaPolicy"] == "block_402"
    assert history(small_free, org)[-1] == "organization.QuotaPolicyChanged"
    measure(small_free)
    refused = as_key(small_free, key, "GET", f"/v1/organizations/{org}")
    assert refused.status_code == 402, "the free plan's 429, overridden"
    usage = as_key(small_free, key, "GET", "/v1/usage").json()
    assert (usage["plan"], usage["quotaPolicy"], usage["policy"], usage["blocked"]) == (
        "free", "block_402", "block", "apiCalls")

    set_policy(small_free, org, "overage")
    measure(small_free)
    assert as_key(small_free, key, "GET", f"/v1/organizations/{org}").status_code == 200
    usage = as_key(small_free, key, "GET", "/v1/usage").json()
    assert (usage["quotaPolicy"], usage["policy"], usage["blocked"]) == (
        "overage", "overage", None)

    assert set_policy(small_free, org, None)["quotaPolicy"] is None
    measure(small_free)
    assert as_key(small_free, key, "GET", f"/v1/organizations/{org}").status_code == 429
    assert as_key(small_free, key, "GET", "/v1/usage").json()["quotaPolicy"] == "block_429"


def test_a_tenant_cannot_override_its_quota_policy_and_a_bad_policy_is_a_422(
        metered: TestClient[Any]) -> None:
    org = new_org(metered, plan="free")["id"]
    key = issue(metered, org)  # every permission of its organization, update included
    before = history(metered, org)
    refused = as_key(metered, key, "PATCH", f"/v1/organizations/{org}",
                     json={"quotaPolicy": "overage"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["reason"] == "operator_only"
    for bad in ("block_500", 402, ["overage"], "x" * 10_000):
        answer = metered.patch(f"/v1/organizations/{org}", json={"quotaPolicy": bad})
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "validation_failed"
        assert answer.json()["error"]["details"][0]["field"] == "quotaPolicy"
    assert history(metered, org) == before
    assert metered.get(f"/v1/organizations/{org}").json()["quotaPolicy"] is None
