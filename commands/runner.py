"""The command loop: load, fold, decide, wrap in envelopes, append; bounded retry on conflicts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol, TypeVar
from uuid import UUID

from commands import idempotency
from commands.idempotency import Claim, Rendered
from domain.envelope import Actor, AnyEvent, Envelope, encode
from infra.eventstore import ConcurrencyError, EventStore

S = TypeVar("S")


class VersionConflict(Exception):
    """The caller's expected version (If-Match) is not the stream's current version."""

    code = "version_conflict"

    def __init__(self, expected: int, actual: int | None) -> None:
        actual_text = "unknown" if actual is None else str(actual)
        super().__init__(f"expected version {expected}, stream is at {actual_text}")
        self.expected = expected
        self.actual = actual


class EventTooLarge(Exception):
    """An event would be larger than MAX_EVENT_BYTES: the bus would refuse it, and every
    consumer behind it would stop, so it is never written."""

    code = "event_too_large"

    def __init__(self, event_type: str, size: int, limit: int) -> None:
        super().__init__(f"a {event_type} event of {size} bytes; at most {limit} are allowed")
        self.event_type, self.size, self.limit = event_type, size, limit


class TooMuchContention(Exception):
    """Retries ran out while other writers kept changing the stream."""

    code = "too_much_contention"


@dataclass(frozen=True, kw_only=True)
class Context:
    """Who is asking and why: copied into every envelope the command produces."""

    actor: Actor
    request_id: str
    correlation_id: str = ""
    causation_id: str = ""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    new_id: Callable[[], UUID] = field(default=uuid.uuid4)


class Loaded(NamedTuple):
    state: Any
    version: int


class StreamWrite(NamedTuple):
    stream_id: UUID
    stream_type: str
    organization_id: UUID
    version: int
    events: Sequence[AnyEvent]


class Result(NamedTuple):
    stream_id: UUID
    version: int
    position: int | None


class Evolve(Protocol[S]):
    def __call__(self, state: S, event: Any, /) -> S: ...


def load(store: EventStore, stream_id: UUID, evolve: Evolve[S], initial: S) -> Loaded:
    state, version = initial, 0
    for envelope in store.load(stream_id):
        state, version = evolve(state, envelope.event), envelope.version
    return Loaded(state, version)


def envelopes(ctx: Context, writes: Iterable[StreamWrite]) -> list[Envelope]:
    now = ctx.clock()
    correlation = ctx.correlation_id or ctx.request_id
    out: list[Envelope] = []
    for write in writes:
        for offset, event in enumerate(write.events, start=1):
            out.append(Envelope(
                event_id=ctx.new_id(), stream_id=write.stream_id, stream_type=write.stream_type,
                version=write.version + offset, organization_id=write.organization_id,
                occurred_at=now, actor=ctx.actor, request_id=ctx.request_id,
                correlation_id=correlation, causation_id=ctx.causation_id or ctx.request_id,
                event=event))
    return out


def check_sizes(batch: Sequence[Envelope], limit: int) -> None:
    """Refuse the batch if one of its events, encoded as it is stored and published, is over
    ``limit`` bytes."""
    for envelope in batch:
        size = len(encode(envelope))
        if size > limit:
            raise EventTooLarge(envelope.event_type, size, limit)


def check_expected(expected: int | None, actual: int) -> None:
    if expected is not None and expected != actual:
        raise VersionConflict(expected, actual)


class Seal(NamedTuple):
    """An idempotency claim and how to render the command's response for it."""

    claim: Claim
    render: Callable[[Result], Rendered]


def record_alone(store: EventStore, seal: Seal, result: Result) -> None:
    """A command that changed nothing still records its response under the key."""
    rendered = seal.render(result)
    store.record(lambda cur: idempotency.write(cur, seal.claim, rendered))


def execute(store: EventStore, ctx: Context, attempt: Callable[[], list[StreamWrite]], *,
            retries: int, pinned: bool = False, seal: Seal | None = None) -> Result:
    """Run ``attempt`` (load + decide) and append what it returns, atomically.

    The first write is the command's subject: its new version is returned, with the
    position of the last event appended (what a read-your-write waits for).
    A conflict is retried ``retries`` times unless the caller pinned the version (If-Match).
    With a ``seal``, the rendered response is recorded in the same transaction as the events.
    """
    for _ in range(retries + 1):
        writes = attempt()
        subject = writes[0]
        batch = envelopes(ctx, writes)
        new_version = subject.version + len(subject.events)
        if not batch:
            result = Result(subject.stream_id, subject.version, None)
            if seal is not None:
                record_alone(store, seal, result)
            return result

        def record(cur: Any, positions: Sequence[int], sid: UUID = subject.stream_id,
                   version: int = new_version) -> None:
            if seal is not None:
                idempotency.write(cur, seal.claim, seal.render(
                    Result(sid, version, max(positions))))

        check_sizes(batch, store.max_event_bytes)
        try:
            positions = store.append(batch, after_insert=record)
        except ConcurrencyError:
            if pinned:
                raise VersionConflict(subject.version, None) from None
            continue
        return Result(subject.stream_id, new_version, max(positions))
    raise TooMuchContention("the stream kept changing; try again")
