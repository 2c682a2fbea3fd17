"""What an attempt's answer means: 2xx delivers, 410 abandons and disables, a redirect or any
other answer is retried on the schedule until it is spent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from infra.settings import Settings
from infra.webhook_http import Answer
from infra.webhook_secrets import WebhookSecrets
from infra.webhooks.outcome import judge
from infra.webhooks.sender import Sender
from infra.webhooks.signer import Signer

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


def test_an_endpoint_failing_longer_than_the_setting_is_disabled_and_a_410_at_once() -> None:
    calls: list[tuple[object, ...]] = []
    sender = Sender(Settings(webhook_disable_after="1h"), Signer(WebhookSecrets("k")),
                    lambda *args: calls.append(args))
    endpoint, failed = uuid.uuid4(), judge(answer(500), 1, DELAYS, AT)
    sender._maybe_disable(endpoint, failed, AT - timedelta(minutes=59), AT, answer(500))
    assert calls == []
    sender._maybe_disable(endpoint, failed, AT - timedelta(hours=1), AT, answer(500))
    assert calls[-1][:2] == (endpoint, "failures")
    sender._maybe_disable(endpoint, judge(answer(410), 1, DELAYS, AT), None, AT, answer(410))
    assert calls[-1][:2] == (endpoint, "gone")
