"""Webhook retry schedules: parsing, the jittered delays, and when a delivery is given up."""

from __future__ import annotations

import random

import pytest

from infra.settings import SettingsError, load_settings
from infra.webhooks.schedule import duration, next_delay, schedule


def test_the_default_schedule_is_the_best_senders_one() -> None:
    assert schedule(load_settings({}).webhook_retry_schedule) == (
        0, 5, 300, 1800, 7200, 18000, 36000, 36000)


def test_durations_take_a_unit_or_mean_seconds() -> None:
    assert [duration(t) for t in ("250ms", "3", "1.5s", "2m", "1h", "5d")] == [
        0.25, 3, 1.5, 120, 3600, 432000]


@pytest.mark.parametrize("text", ["", "5x", "-1s", "s", "1 h"])
def test_a_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        duration(text)


def test_delays_are_jittered_within_a_fifth_either_way() -> None:
    rand = random.Random(7)
    delays = schedule("0,10s")
    assert next_delay(delays, 0, rand) == 0
    seen = [next_delay(delays, 1, rand) for _ in range(200)]
    assert all(s is not None and 8 <= s <= 12 for s in seen)
    assert len(set(seen)) > 100


def test_a_delivery_is_given_up_after_the_last_delay() -> None:
    assert next_delay(schedule("0,1s,2s"), 3) is None


def test_a_bad_schedule_in_the_environment_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_RETRY_SCHEDULE"):
        load_settings({"WEBHOOK_RETRY_SCHEDULE": "0,soon"})
    with pytest.raises(SettingsError, match="WEBHOOK_DISABLE_AFTER"):
        load_settings({"WEBHOOK_DISABLE_AFTER": "a while"})
