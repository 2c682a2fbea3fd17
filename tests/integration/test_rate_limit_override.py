"""The operator's per-organization rateLimit override: set, shown, enforced, and refused to tenants."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import wait_until
from tests.integration.test_api_keys import as_key, issue, new_org

ROOMY = {"requestsPerSecond": 5000, "burstLimit": 10000, "requestsPerMinute": 300000,
         "requestsPerHour": 10000000, "requestsPerDay": 100000000}
TIGHT = {"requestsPerSecond": 0.01, "burstLimit": 3, "requestsPerMinute": 1000,
         "requestsPerHour": 10000, "requestsPerDay": 100000}


def override(client: TestClient[Any], org_id: str, limit: dict[str, Any] | None) -> dict[str, Any]:
    """Set the override as the operator; returns the organization once the read model has it."""
    accepted = client.patch(f"/v1/organizations/{org_id}", json={"rateLimit": limit})
    assert accepted.status_code == 200, accepted.text
    read = client.get(f"/v1/organizations/{org_id}",
                      params={"min_position": accepted.json()["position"]})
    assert read.status_code == 200, read.text
    return read.json()  # type: ignore[no-any-return]


def limit_header(client: TestClient[Any], key: str, org_id: str) -> str:
    return str(as_key(client, key, "GET", f"/v1/organizations/{org_id}")
               .headers.get("ratelimit-limit"))


def test_an_override_lifts_an_organization_above_its_plan_and_is_shown_in_its_read(
        client: TestClient[Any]) -> None:
    org = new_org(client, plan="free")  # a burst of 10
    key = issue(client, org["id"], rateLimit=ROOMY)
    assert client.get(f"/v1/organizations/{org['id']}").json()["rateLimit"] is None
    assert override(client, org["id"], ROOMY)["rateLimit"] == ROOMY
    wait_until(lambda: limit_header(client, key, org["id"]) != "10", timeout=15,
               message="the organization's cached policy picks up the override")
    codes = [as_key(client, key, "GET", f"/v1/organizations/{org['id']}").status_code
             for _ in range(15)]
    assert codes == [200] * 15, "more than the free plan's burst of 10 is admitted"


def test_an_override_also_tightens_and_null_goes_back_to_the_plan(
        client: TestClient[Any]) -> None:
    org = new_org(client, plan="enterprise")
    key = issue(client, org["id"], rateLimit=ROOMY)
    override(client, org["id"], TIGHT)
    wait_until(lambda: limit_header(client, key, org["id"]) in ("3", "None"), timeout=15,
               message="the tight override is enforced")
    codes = [as_key(client, key, "GET", f"/v1/organizations/{org['id']}").status_code
             for _ in range(4)]
    assert 429 in codes
    assert override(client, org["id"], None)["rateLimit"] is None
    wait_until(lambda: limit_header(client, key, org["id"]) == "1000", timeout=15,
               message="the enterprise plan's burst of 1000 is back")


def test_a_tenant_cannot_set_its_own_rate_limit_and_nothing_is_written(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    key = issue(client, org["id"])  # every permission of its organization, update included
    before = client.get(f"/v1/organizations/{org['id']}").json()
    refused = as_key(client, key, "PATCH", f"/v1/organizations/{org['id']}",
                     json={"rateLimit": ROOMY})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["reason"] == "operator_only"
    assert as_key(client, key, "PATCH", f"/v1/organizations/{org['id']}",
                  json={"name": "Renamed"}).status_code == 200, "other fields stay the tenant's"
    history = client.get(f"/v1/organizations/{org['id']}/history").json()["data"]
    assert [e["type"] for e in history][before["version"]:] == ["organization.Renamed"]


def test_an_override_with_a_limit_out_of_range_is_refused_with_422_and_nothing_written(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    for field, value in (("requestsPerSecond", 0), ("burstLimit", -1),
                         ("requestsPerDay", 10**10)):
        response = client.patch(f"/v1/organizations/{org['id']}",
                                json={"rateLimit": {**ROOMY, field: value}})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["reason"] == "validation_failed"
    assert client.get(f"/v1/organizations/{org['id']}").json()["version"] == 1
