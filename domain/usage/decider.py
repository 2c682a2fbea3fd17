"""Usage decider: one stream per organization and month, so that the warning at WARN_AT of a
quota and the reaching of the quota are each recorded once per month and metric, however many
API processes meter the same organization at once (they meet on this stream's version)."""

from __future__ import annotations

import re
import uuid
from typing import assert_never
from uuid import UUID

import msgspec

from domain.decider import Decider
from domain.errors import InvalidValue
from domain.organization.plans import METRICS, WARN_AT
from domain.usage.events import LimitReached, ThresholdReached, UsageEvent

USAGE_NAMESPACE = UUID("6f1c2f8e-3d5b-4d0e-9a57-1c0de5a1e0a5")
PERIOD = re.compile(r"(19[7-9][0-9]|20[0-9]{2})-(0[1-9]|1[0-2])")  # ClickHouse's Date range


def usage_stream_id(organization_id: UUID, period: str) -> UUID:
    return uuid.uuid5(USAGE_NAMESPACE, f"{organization_id}:{period}")


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    warned: frozenset[str] = frozenset()  # metrics warned of this month
    reached: frozenset[str] = frozenset()  # metrics whose quota this month reached


INITIAL = Usage()


def evolve(state: Usage, event: UsageEvent) -> Usage:
    match event:
        case ThresholdReached(metric=metric):
            return Usage(warned=state.warned | {metric}, reached=state.reached)
        case LimitReached(metric=metric):
            return Usage(warned=state.warned, reached=state.reached | {metric})
        case _:
            return state


class RecordUsage(msgspec.Struct, frozen=True, kw_only=True):
    """What a meter measured of one metric this month, against the plan's quota."""

    organization_id: UUID
    period: str
    metric: str
    used: int
    limit: int
    policy: str  # the plan's past a quota (plans.py Over)


UsageCommand = RecordUsage


def check(command: RecordUsage) -> None:
    if command.metric not in METRICS:
        raise InvalidValue(f"metric must be one of {', '.join(METRICS)}", field="metric",
                           code="invalid_value")
    if not PERIOD.fullmatch(command.period):
        raise InvalidValue("period must be a month like 2026-12", field="period",
                           code="invalid_value")
    if command.used < 0 or command.limit <= 0:
        raise InvalidValue("usage is counted from zero against a positive quota",
                           field="used", code="invalid_value")


def record(command: RecordUsage, state: Usage) -> list[UsageEvent]:
    check(command)
    c = command
    events: list[UsageEvent] = []
    if c.used >= WARN_AT * c.limit and c.metric not in state.warned:
        events.append(ThresholdReached(organization_id=c.organization_id, period=c.period,
                                       metric=c.metric, used=c.used, limit=c.limit,
                                       percent=int(WARN_AT * 100)))
    if c.used >= c.limit and c.metric not in state.reached:
        events.append(LimitReached(organization_id=c.organization_id, period=c.period,
                                   metric=c.metric, used=c.used, limit=c.limit,
                                   policy=c.policy))
    return events


def decide(command: UsageCommand, state: Usage) -> list[UsageEvent]:
    match command:
        case RecordUsage():
            return record(command, state)
        case _:
            assert_never(command)


DECIDER = Decider("usage", INITIAL, evolve, decide)
