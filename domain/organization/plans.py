"""What each plan allows: the default rate limits of an organization's plan."""

from __future__ import annotations

import msgspec

from domain.errors import InvalidValue
from domain.organization.events import Plan, RateLimit

__all__ = ["MAX_RATE", "PLAN_LIMITS", "RateLimit", "check_rate_limit", "limit_of"]

MAX_RATE = 1_000_000_000  # positive, and small enough for every store's 64-bit integers


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


def check_rate_limit(limit: RateLimit, field: str) -> None:
    """Every window's quota is positive and bounded (a zero or negative one is no limit at all)."""
    for f in msgspec.structs.fields(limit):
        if not 0 < getattr(limit, f.name) <= MAX_RATE:
            where = f"{field}.{f.encode_name}"
            raise InvalidValue(f"{where} must be between 1 and {MAX_RATE}", field=where,
                               code="rate_limit_out_of_range",
                               params={"field": where, "max": MAX_RATE})


def limit_of(plan: str, override: RateLimit | None) -> RateLimit:
    """An organization's limits: the operator's override when set, else its plan's defaults."""
    if override is not None:
        return override
    return PLAN_LIMITS.get(plan, PLAN_LIMITS["free"])  # type: ignore[call-overload]
