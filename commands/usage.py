"""Usage use case: record what a meter measured of an organization's month; the usage decider
turns a crossed threshold into its event once, whichever meter saw it first."""

from __future__ import annotations

from commands.ports import EventStore
from commands.runner import Context, Result, StreamWrite, decided, execute
from domain.usage import decider as usage


class UsageCommands:
    def __init__(self, store: EventStore, *, retries: int = 5) -> None:
        self.store, self.retries = store, retries

    def record(self, ctx: Context, command: usage.RecordUsage) -> Result:
        stream_id = usage.usage_stream_id(command.organization_id, command.period)

        def attempt() -> list[StreamWrite]:
            return [decided(self.store, usage.DECIDER, stream_id, command.organization_id,
                            command)]

        return execute(self.store, ctx, attempt, retries=self.retries)
