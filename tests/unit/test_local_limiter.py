"""The in-process limiter (the fail-open fallback), driven by an explicit clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from infra.ratelimit import Limits, LocalLimiter, Scope

BIG = 1_000_000


def scope(key: str = "k", rps: float = 1.0, burst: int = 5, minute: int = BIG,
          hour: int = BIG, day: int = BIG) -> Scope:
    return Scope(key, Limits(rps, burst, minute, hour, day))


def test_a_full_bucket_admits_its_burst_then_refuses_with_a_retry_after() -> None:
    limiter, s = LocalLimiter(), scope(rps=2, burst=3)
    admitted = [limiter.check([s], now_ms=1000).allowed for _ in range(5)]
    assert admitted == [True, True, True, False, False]
    refused = limiter.check([s], now_ms=1000)
    assert refused.retry_after_s == 1
    assert refused.remaining == 0


def test_the_bucket_refills_at_its_rate() -> None:
    limiter, s = LocalLimiter(), scope(rps=2, burst=2)
    assert limiter.check([s], now_ms=0).allowed
    assert limiter.check([s], now_ms=0).allowed
    assert not limiter.check([s], now_ms=100).allowed
    assert limiter.check([s], now_ms=600).allowed  # one token back after 500 ms


def test_a_minute_window_resets_at_its_boundary() -> None:
    limiter, s = LocalLimiter(), scope(rps=1000, burst=1000, minute=2)
    assert limiter.check([s], now_ms=60_000).allowed
    assert limiter.check([s], now_ms=60_001).allowed
    refused = limiter.check([s], now_ms=119_000)
    assert not refused.allowed
    assert refused.retry_after_s == 1
    assert limiter.check([s], now_ms=120_000).allowed


def test_a_refusal_by_one_scope_charges_no_scope() -> None:
    limiter = LocalLimiter()
    roomy, tight = scope("org", burst=100), scope("key", burst=1)
    assert limiter.check([roomy, tight], now_ms=0).allowed
    assert not limiter.check([roomy, tight], now_ms=0).allowed
    assert limiter.check([roomy], now_ms=0).remaining == 98  # charged once, not twice


def test_headers_describe_the_tightest_limit() -> None:
    limiter = LocalLimiter()
    decision = limiter.check([scope(rps=10, burst=50, minute=3)], now_ms=0)
    assert (decision.limit, decision.remaining) == (3, 2)
    assert decision.reset_s == 60


@given(burst=st.integers(1, 50), requests=st.integers(0, 120),
       day=st.integers(1, 80))
def test_never_more_than_the_burst_or_the_day_is_admitted_at_one_instant(
        burst: int, requests: int, day: int) -> None:
    limiter, s = LocalLimiter(), scope(rps=0.001, burst=burst, day=day)
    admitted = sum(limiter.check([s], now_ms=5_000).allowed for _ in range(requests))
    assert admitted == min(requests, burst, day)
