"""The command loop: load, fold, decide, wrap in envelopes, append; bounded retry on conflicts.

``load`` and ``write`` take an aggregate's ``Decider``, so a use case never names a stream type;
``decided`` is the common step of both (load a stream, decide one command, write the result).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar
from uuid import UUID

from msgspec import UNSET

from commands.idempotency import Claim, Record, Rendered
from commands.ports import ConcurrencyError, EventStore
from domain.decider import Decider
from domain.envelope import Actor, AnyEvent, Envelope, Source, encode
from domain.permissions import Permissions

S = TypeVar("S")
C = TypeVar("C")
# The command's span: set by infra/tracing.py when tracing is on, entered around a command's
# attempts with the use case's function; it yields the traceparent the envelopes carry.
TRACE_COMMAND: Callable[[Callable[[], Any]], AbstractContextManager[str]] | None = None


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
    ip_address: str = ""
    user_agent: str = ""
    source: Source = "system"
    traceparent: str = ""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    new_id: Callable[[], UUID] = field(default=uuid.uuid4)
    # The caller's permission sets (a key's and its ceiling) when one of them has filters that
    # the objects it writes must match, or fields; None: no condition applies (the operator).
    grants: tuple[Permissions, ...] | None = None


class Loaded(NamedTuple, Generic[S]):
    state: S
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


def load(store: EventStore, decider: Decider[S, Any, Any], stream_id: UUID) -> Loaded[S]:
    """The stream folded into its state, and its version (0: no stream yet)."""
    state, version = decider.initial, 0
    for envelope in store.load(stream_id):
        state, version = decider.evolve(state, envelope.event), envelope.version
    return Loaded(state, version)


def write(decider: Decider[Any, Any, Any], stream_id: UUID, organization_id: UUID,
          version: int, events: Sequence[AnyEvent]) -> StreamWrite:
    """``events`` to append to the decider's stream after ``version``."""
    return StreamWrite(stream_id, decider.stream_type, organization_id, version, events)


def decided(store: EventStore, decider: Decider[Any, C, Any], stream_id: UUID,
            organization_id: UUID, command: C) -> StreamWrite:
    """Load the stream, decide ``command`` on it, and write what it decided."""
    current = load(store, decider, stream_id)
    return write(decider, stream_id, organization_id, current.version,
                 decider.decide(command, current.state))


def presumed(store: EventStore, decider: Decider[Any, C, Any], stream_id: UUID,
              organization_id: UUID, command: C, *, new: bool) -> StreamWrite:
    """``decided``, but with ``new`` the stream is presumed not to exist yet and is not loaded:
    the append of version 1 then fails with a conflict if it does, and the retry (``new``
    false) loads it. A claim of a fresh name, the common case, saves a round trip."""
    if new:
        return write(decider, stream_id, organization_id, 0,
                     decider.decide(command, decider.initial))
    return decided(store, decider, stream_id, organization_id, command)


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
                ip_address=ctx.ip_address or UNSET, user_agent=ctx.user_agent or UNSET,
                source=UNSET if ctx.source == "system" else ctx.source,
                traceparent=ctx.traceparent or UNSET, event=event))
    return out


def check_sizes(batch: Sequence[Envelope], limit: int) -> list[bytes]:
    """Refuse the batch if one of its events, encoded as it is stored and published, is over
    ``limit`` bytes; else its events encoded, which the append may store as they are."""
    encoded = []
    for envelope in batch:
        data = encode(envelope)
        if len(data) > limit:
            raise EventTooLarge(envelope.event_type, len(data), limit)
        encoded.append(data)
    return encoded


def check_expected(expected: int | None, actual: int) -> None:
    if expected is not None and expected != actual:
        raise VersionConflict(expected, actual)


class Seal(NamedTuple):
    """An idempotency claim and how to render the command's response for it."""

    claim: Claim
    render: Callable[[Result], Rendered]


def record_alone(store: EventStore, seal: Seal, result: Result) -> None:
    """A command that changed nothing still records its response under the key."""
    store.record(Record(seal.claim, seal.render(result)))


def execute(store: EventStore, ctx: Context, attempt: Callable[[], list[StreamWrite]], *,
            retries: int, pinned: bool = False, seal: Seal | None = None) -> Result:
    """Run ``attempt`` (load + decide) and append what it returns, atomically.

    The first write is the command's subject: its new version is returned, with the
    position of the last event appended (what a read-your-write waits for).
    A conflict is retried ``retries`` times unless the caller pinned the version (If-Match).
    With a ``seal``, the rendered response is recorded in the same transaction as the events.
    """
    if TRACE_COMMAND is None:
        return _attempts(store, ctx, attempt, retries, pinned, seal)
    with TRACE_COMMAND(attempt) as traceparent:
        return _attempts(store, replace(ctx, traceparent=traceparent), attempt, retries,
                         pinned, seal)


def _attempts(store: EventStore, ctx: Context, attempt: Callable[[], list[StreamWrite]],
              retries: int, pinned: bool, seal: Seal | None) -> Result:
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

        check_sizes(batch, store.max_event_bytes)
        try:
            # Without a seal there is nothing to record: the append is one round trip.
            positions = store.append(batch, sealing=None if seal is None else _sealing(
                seal, subject.stream_id, new_version))
        except ConcurrencyError:
            if pinned:
                raise VersionConflict(subject.version, None) from None
            continue
        return Result(subject.stream_id, new_version, max(positions))
    raise TooMuchContention("the stream kept changing; try again")


def _sealing(seal: Seal, stream_id: UUID, version: int) -> Callable[[int], Record]:
    return lambda position: Record(seal.claim, seal.render(Result(stream_id, version, position)))
