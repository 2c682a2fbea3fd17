"""What an attempt's answer means: 2xx delivers, 410 abandons and disables, a redirect or any
other answer is retried on the schedule until it is spent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infra.webhook_http import Answer
from infra.webhooks.outcome import judge

AT = datetime(2026, 12, 1, tzinfo=UTC)
DELAYS = (0.0, 10.0, 100.0)


def answer(status: int | None, error: str = "") -> Answer:
    return Answer(status, "", error, 0.1)


def test_a_2xx_answer_delivers() -> None:
    assert judge(answer(204), 1, DELAYS, AT).status == "delivered"


def test_a_410_abandons_and_says_the_endpoint_is_gone() -> None:
    outcome = judge(answer(410), 1, DELAYS, AT)
    assert (outcome.status, outcome.gone) == ("abandoned", True)


def test_failures_and_redirects_wait_the_next_jittered_delay() -> None:
    for failed in (answer(500), answer(302), answer(None, "timeout: timed out")):
        outcome = judge(failed, 1, DELAYS, AT)
        assert outcome.status == "failed"
        assert outcome.next_retry_at is not None
        assert timedelta(seconds=8) <= outcome.next_retry_at - AT <= timedelta(seconds=12)


def test_the_last_scheduled_attempt_failing_abandons_the_delivery() -> None:
    outcome = judge(answer(500), 3, DELAYS, AT)
    assert (outcome.status, outcome.gone) == ("abandoned", False)
