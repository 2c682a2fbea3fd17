"""What each plan allows: the default rate limits of an organization's plan."""

from __future__ import annotations

from domain.organization.events import Plan, RateLimit

__all__ = ["PLAN_LIMITS", "RateLimit", "limit_of"]


PLAN_LIMITS: dict[Plan, RateLimit] = {
    "free": RateLimit(requests_per_second=5, burst_limit=10, requests_per_minute=100,
                      requests_per_hour=1_000, requests_per_day=10_000),
    "starter": RateLimit(requests_per_second=20, burst_limit=40, requests_per_minute=1_000,
                         requests_per_hour=20_000, requests_per_day=200_000),
    "professional": RateLimit(requests_per_second=100, burst_limit=200,
                              requests_per_minute=5_000, requests_per_hour=100_000,
                              requests_per_day=1_000_000),
    "enterprise": RateLimit(requests_per_second=500, burst_limit=1_000,
                            requests_per_minute=30_000, requests_per_hour=1_000_000,
                            requests_per_day=10_000_000),
}


def limit_of(plan: str, override: RateLimit | None) -> RateLimit:
    """An organization's limits: the operator's override when set, else its plan's defaults."""
    if override is not None:
        return override
    return PLAN_LIMITS.get(plan, PLAN_LIMITS["free"])  # type: ignore[call-overload]
