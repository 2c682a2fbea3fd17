"""The usage decider: the warning at 80 % of a quota and the reaching of it, each once per
organization, month and metric."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.errors import InvalidValue
from domain.usage import decider as usage
from domain.usage.decider import RecordUsage
from domain.usage.events import LimitReached, ThresholdReached
from tests.unit.spec import Specification

ORG = UUID(int=5)
SPEC = Specification(usage.DECIDER)
AT = {"organization_id": ORG, "period": "2026-12", "metric": "apiCalls", "limit": 1000}


def measured(used: int, metric: str = "apiCalls") -> RecordUsage:
    return RecordUsage(**{**AT, "metric": metric}, used=used, policy="block")


def warned(used: int) -> ThresholdReached:
    return ThresholdReached(**AT, used=used, percent=80)


def reached(used: int) -> LimitReached:
    return LimitReached(**AT, used=used, policy="block")


def test_use_below_eighty_percent_records_nothing() -> None:
    SPEC.given().when(measured(799)).then()


def test_eighty_percent_of_a_quota_is_warned_of_once() -> None:
    SPEC.given().when(measured(800)).then(warned(800))
    SPEC.given(warned(800)).when(measured(950)).then()


def test_reaching_the_quota_at_once_warns_and_reaches_it_once() -> None:
    SPEC.given().when(measured(1200)).then(warned(1200), reached(1200))
    SPEC.given(warned(800)).when(measured(1000)).then(reached(1000))
    SPEC.given(warned(800), reached(1000)).when(measured(5000)).then()


def test_each_metric_is_warned_of_on_its_own() -> None:
    decided = SPEC.given(warned(800)).when(measured(900, metric="storage")).decided()
    assert [(type(e), e.metric) for e in decided] == [(ThresholdReached, "storage")]


def test_each_month_is_its_own_stream() -> None:
    assert usage.usage_stream_id(ORG, "2026-12") != usage.usage_stream_id(ORG, "2027-01")
    assert usage.usage_stream_id(ORG, "2026-12") == usage.usage_stream_id(ORG, "2026-12")


@pytest.mark.parametrize(("command", "field"), [
    (RecordUsage(**{**AT, "metric": "coffee"}, used=1, policy="block"), "metric"),
    (RecordUsage(**{**AT, "period": "2026-13"}, used=1, policy="block"), "period"),
    (RecordUsage(**{**AT, "limit": 0}, used=1, policy="block"), "used"),
    (RecordUsage(**AT, used=-1, policy="block"), "used"),
])
def test_an_unknown_metric_a_bad_month_or_a_negative_count_is_refused(
        command: RecordUsage, field: str) -> None:
    SPEC.given().when(command).then_raises(InvalidValue, field=field)
