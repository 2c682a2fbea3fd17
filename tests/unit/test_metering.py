"""What a blocking plan refuses past its quotas (infra/metering.py ``block_of``)."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.organization.plans import PLAN_QUOTAS, Quota
from infra.metering import block_of, month_end

QUOTA = Quota(api_calls=100, bandwidth=1000, storage=500, users=5)
UNTIL = datetime(2027, 1, 1, tzinfo=UTC)


def used(**figures: int) -> dict[str, int]:
    return {"apiCalls": 0, "bandwidth": 0, "storage": 0, "users": 0, **figures}


def test_calls_or_bandwidth_at_the_quota_refuse_every_request() -> None:
    block = block_of(used(apiCalls=100), QUOTA, "2026-12", UNTIL)
    assert block is not None
    assert (block.metric, block.writes_only) == ("apiCalls", False)
    assert block_of(used(apiCalls=99, bandwidth=999), QUOTA, "2026-12", UNTIL) is None


def test_storage_or_users_refuse_only_adding_writes_and_only_beyond_the_quota() -> None:
    assert block_of(used(users=5, storage=500), QUOTA, "2026-12", UNTIL) is None
    block = block_of(used(users=6), QUOTA, "2026-12", UNTIL)
    assert block is not None
    assert (block.metric, block.writes_only) == ("users", True)


def test_counted_metrics_win_over_levels_when_both_are_over() -> None:
    block = block_of(used(storage=900, bandwidth=1000), QUOTA, "2026-12", UNTIL)
    assert block is not None
    assert (block.metric, block.writes_only) == ("bandwidth", False)


def test_an_overage_plan_is_never_refused() -> None:
    overage = Quota(api_calls=1, bandwidth=1, storage=1, users=1, over="overage")
    assert block_of(used(apiCalls=10, users=10), overage, "2026-12", UNTIL) is None


def test_the_month_ends_at_the_next_months_first_midnight_utc() -> None:
    assert month_end(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == UNTIL
    assert month_end(datetime(2026, 2, 1, tzinfo=UTC)) == datetime(2026, 3, 1, tzinfo=UTC)


def test_the_default_plans_block_free_with_429_paid_with_402_and_serve_enterprise_on() -> None:
    assert {plan: quota.over for plan, quota in PLAN_QUOTAS.items()} == {
        "free": "block_429", "starter": "block_402", "professional": "block_402",
        "enterprise": "overage"}


def test_a_block_carries_its_plans_policy_and_the_plan() -> None:
    paid = Quota(api_calls=1, bandwidth=1, storage=1, users=1, over="block_402")
    block = block_of(used(apiCalls=1), paid, "2026-12", UNTIL, plan="starter")
    assert block is not None
    assert (block.policy, block.plan) == ("block_402", "starter")
