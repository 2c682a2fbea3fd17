"""Which share a quota_use rule is measured at (infra/quota_use.py ``values``)."""

from __future__ import annotations

import uuid

from infra.quota_use import is_quota_metric, values

A, B, GONE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SHARES = {A: {"quota_use.apiCalls": 0.2, "quota_use": 0.9},
          B: {"quota_use.apiCalls": 0.7, "quota_use": 0.7}}


def rule(org: uuid.UUID | None, metric: str = "quota_use.apiCalls") -> dict[str, object]:
    return {"id": uuid.uuid4(), "organization_id": org, "metric": metric}


def test_an_organizations_rule_reads_its_own_share_of_the_metric_it_names() -> None:
    mine, largest = rule(A), rule(A, "quota_use")
    assert values([mine, largest], SHARES) == {mine["id"]: 0.2, largest["id"]: 0.9}


def test_a_system_wide_rule_reads_the_largest_share_of_any_organization() -> None:
    everyone = rule(None)
    assert values([everyone], SHARES) == {everyone["id"]: 0.7}
    assert values([everyone], {}) == {everyone["id"]: None}


def test_a_rule_of_an_organization_gone_has_nothing_to_measure() -> None:
    gone = rule(GONE)
    assert values([gone], SHARES) == {gone["id"]: None}


def test_only_quota_use_and_its_four_metrics_are_quota_metrics() -> None:
    assert all(map(is_quota_metric, ["quota_use", "quota_use.apiCalls", "quota_use.users"]))
    assert not any(map(is_quota_metric, ["error_rate", "projection_lag", "quota_user"]))
