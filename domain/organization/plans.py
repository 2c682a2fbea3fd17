"""What each plan allows: the default rate limits of an organization's plan, and its monthly
usage quotas with what happens past them."""

from __future__ import annotations

import msgspec

from domain.errors import InvalidValue
from domain.organization.events import Plan, QuotaPolicy, RateLimit

__all__ = ["MAX_RATE", "METRICS", "PLAN_LIMITS", "PLAN_ORDER", "PLAN_QUOTAS", "Over", "Quota",
           "RateLimit", "check_rate_limit", "limit_of", "quota_of", "upgrades_of"]

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


GIB = 1024 ** 3
# The metered quantities, as UsageMetrics names them: calls and bandwidth (bytes in and out)
# count up over the month; storage (resources' data) and users are levels.
METRICS = ("apiCalls", "bandwidth", "storage", "users")
WARN_AT = 0.8  # the share of a quota at which the organization is warned, once a month


# A plan's policy past a quota. Both blocks refuse (calls and bandwidth: every request; storage
# and users: the writes that add): ``block_429`` with 429 until the month ends (waiting is the
# way on, as on the free plan); ``block_402`` with 402 Payment Required, the quota, the period
# and where to upgrade (a paying customer's way on is a larger plan). ``overage`` serves on
# and bills the excess (warnings only).
# The operator may set one organization's policy apart from its plan's (quota_of's ``override``).
Over = QuotaPolicy


class Quota(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A plan's monthly quotas and its policy past one (``Over``)."""

    api_calls: int
    bandwidth: int  # bytes
    storage: int  # bytes
    users: int
    over: Over = "block_429"

    def of(self, metric: str) -> int:
        return {"apiCalls": self.api_calls, "bandwidth": self.bandwidth,
                "storage": self.storage, "users": self.users}[metric]


PLAN_QUOTAS: dict[Plan, Quota] = {
    "free": Quota(api_calls=100_000, bandwidth=GIB, storage=GIB // 10, users=5),
    "starter": Quota(api_calls=1_000_000, bandwidth=10 * GIB, storage=GIB, users=25,
                     over="block_402"),
    "professional": Quota(api_calls=10_000_000, bandwidth=100 * GIB, storage=10 * GIB,
                          users=100, over="block_402"),
    "enterprise": Quota(api_calls=100_000_000, bandwidth=1024 * GIB, storage=100 * GIB,
                        users=1000, over="overage"),
}


PLAN_ORDER: tuple[Plan, ...] = ("free", "starter", "professional", "enterprise")


def quota_of(plan: str, override: Over | None = None) -> Quota:
    """The plan's quotas, past them the operator's ``override`` of its policy when set."""
    quota: Quota = PLAN_QUOTAS.get(plan, PLAN_QUOTAS["free"])  # type: ignore[call-overload]
    return quota if override is None else msgspec.structs.replace(quota, over=override)


def upgrades_of(plan: str) -> list[str]:
    """The plans larger than ``plan``, smallest first (a 402's way on)."""
    return list(PLAN_ORDER[PLAN_ORDER.index(plan) + 1:]) if plan in PLAN_ORDER else []


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
