"""Recording usage on the in-memory event store: a warning once however often it is measured."""

from __future__ import annotations

from uuid import UUID

from commands.runner import Context
from commands.usage import UsageCommands
from domain.envelope import SYSTEM as SYSTEM_ACTOR
from domain.usage.decider import RecordUsage, usage_stream_id
from domain.usage.events import LimitReached, ThresholdReached
from infra.memorystore import MemoryEventStore

ORG = UUID(int=11)
SYSTEM = Context(actor=SYSTEM_ACTOR, request_id="metering")


def measure(commands: UsageCommands, used: int) -> None:
    commands.record(SYSTEM, RecordUsage(organization_id=ORG, period="2026-12", metric="users",
                                        used=used, limit=10, policy="block"))


def test_measuring_the_same_month_again_and_again_records_each_threshold_once() -> None:
    store = MemoryEventStore()
    commands = UsageCommands(store)
    for used in (3, 8, 8, 9, 10, 12, 4):
        measure(commands, used)
    events = [e.event for e in store.load(usage_stream_id(ORG, "2026-12"))]
    assert [type(e) for e in events] == [ThresholdReached, LimitReached]
    assert [e.used for e in events] == [8, 10]
