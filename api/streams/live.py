"""What both live streams send: the caller's events after a position, replayed from the event
store (the query GET /v1/events uses, behind the tenant wall), then live from the process's
hub (infra/streamhub.py), without gap or duplicate.

The stream joins the hub first, at the hub's position H: every event after H then waits in its
queue. The replay covers (after, H] once the hash chain (the replay's index) has reached H;
live events at or before the last one sent are dropped. A stream's frames are ``Opened`` (it
is subscribed), lists of events, ``None`` (a heartbeat is due) and, last, ``Closed``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import NamedTuple
from uuid import UUID

import msgspec

from api.auth.principal import Principal
from api.auth.tenancy import read_as
from api.events.routes import event_out
from api.platform.dependencies import caught_up
from api.platform.errors import ApiException, FieldError
from domain import limits as lim
from infra.container import Container
from infra.streamhub import Item, Matches, Subscriber
from projections import event_queries as queries
from projections.status import wait_for

REPLAY_PAGE = 500
MAX_TOLD = 10  # error frames waiting to be sent to one client
CHAIN = "audit_chain"  # the read model the replay's query pages through
DIGITS = re.compile(r"[0-9]{1,18}")
GONE = "client_closed"  # the client left: nothing more is sent
# Why a stream ended, said in its last frame: the client resumes from its last event id.
CLOSING = {
    "slow_consumer": "the client fell too far behind; reconnect with the last event id",
    "server_shutdown": "the server is shutting down; reconnect with the last event id",
    "not_caught_up": "the replay's index has not caught up yet; reconnect shortly",
}


class Opened(NamedTuple):
    position: int  # the hub's position when the stream subscribed
    subscriber: Subscriber  # closed (GONE) by whoever sees the client leave


class Closed(NamedTuple):
    reason: str  # a key of CLOSING


class Resumed(NamedTuple):
    after: int  # the events after this position follow, replayed then live


class Told(NamedTuple):
    error: ApiException  # a client message the server could not take


Frame = Opened | list[Item] | Closed | Resumed | Told | None


class Control:
    """What a WebSocket client asked its open stream for, read by the stream's loop (the one
    sender): a resume point and the errors to answer (bounded: a flood is not queued)."""

    __slots__ = ("errors", "resume")

    def __init__(self) -> None:
        self.resume: int | None = None
        self.errors: list[ApiException] = []

    def ask(self, sub: Subscriber, request: int | ApiException) -> None:
        if isinstance(request, int):
            self.resume = request
        elif len(self.errors) < MAX_TOLD:
            self.errors.append(request)
        sub.wake()

    def take(self) -> tuple[list[ApiException], int | None]:
        asked = self.errors, self.resume
        self.errors, self.resume = [], None
        return asked


class Wanted(NamedTuple):
    organization_id: UUID | None  # None: the operator's view of every organization
    types: list[str] | None
    after: int | None  # resume after this store position; None: live only
    member: str | None = None  # the stream's place in its organization's quota

    @property
    def matches(self) -> Matches:
        return None if self.types is None else queries.matching(self.types).fullmatch


def _invalid(field: str, message: str) -> ApiException:
    return ApiException(400, "invalid_parameter", message,
                        details=[FieldError(field, message)])


def type_patterns(raw: str | None) -> list[str] | None:
    """``types``: comma-separated event types or patterns with * (as GET /v1/events' type)."""
    if raw is None or not raw.strip():
        return None
    patterns = [p.strip() for p in raw.split(",") if p.strip()]
    if len(patterns) > lim.MAX_STREAM_TYPES or not all(
            queries.TYPE_PATTERN.fullmatch(p) for p in patterns):
        raise _invalid("types", f"types must be at most {lim.MAX_STREAM_TYPES} event types or "
                                "patterns with *, like resource.*, separated by commas")
    return patterns


def resume_point(last_event_id: str | None, after: int | None) -> int | None:
    """Where to resume: the SSE Last-Event-ID header (a store position), else ``after``."""
    if last_event_id is None or not last_event_id.strip():
        return after
    if not DIGITS.fullmatch(last_event_id.strip()):
        raise _invalid("Last-Event-ID", "Last-Event-ID must be a store position (digits)")
    return int(last_event_id.strip())


async def admit(container: Container, wanted: Wanted) -> Wanted:
    """Refuse a stream beyond the limits (429 for the organization's, across processes; 503
    for this process's) and, for a resume, until the replay's index has what the hub has (503
    not_caught_up); ``wanted`` with its place in the organization's quota."""
    hub, settings = container.hub, container.settings
    refusal = hub.refusal(wanted.organization_id)
    if refusal is not None and refusal != "too_many_streams":
        raise ApiException(503, "service_unavailable", headers={"Retry-After": "1"},
                           details={"limit": "STREAM_MAX_PER_PROCESS",
                                    "max": settings.stream_max_per_process}
                           if refusal == "streams_full" else None)
    if wanted.after is not None and hub.last is not None and wanted.after < hub.last:
        await caught_up(container, hub.last, CHAIN)
    # Claimed last: a refusal above takes no place.
    member = None if refusal else await hub.claim(wanted.organization_id)
    if member is None:
        raise ApiException(429, "rate_limited", params={"retry_after": 1},
                           details={"limit": "STREAM_MAX_PER_ORG",
                                    "max": settings.stream_max_per_org},
                           headers={"Retry-After": "1"})
    return wanted._replace(member=member)


async def frames(container: Container, principal: Principal | None, wanted: Wanted,
                 control: Control | None = None) -> AsyncGenerator[Frame, None]:
    """The stream's frames, replayed behind ``principal``'s tenant wall (held instead of the
    request, which an open stream would otherwise keep alive); ``control`` brings a WebSocket
    client's messages (SSE has none)."""
    hub = container.hub
    sub = hub.join(wanted.organization_id, wanted.matches, wanted.member)
    try:
        yield Opened(sub.start, sub)
        last = sub.start
        if wanted.after is not None:
            async for items in _from(container, principal, wanted, sub, wanted.after, last):
                yield items
            last = max(last, wanted.after)
        while sub.closed is None:
            waiting = sub.wait()
            if waiting is not None:
                await waiting
            taken = sub.drain()
            asked = control.take() if control is not None else ([], None)
            for error in asked[0]:
                yield Told(error)
            if asked[1] is not None:
                yield Resumed(asked[1])
                async for items in _from(container, principal, wanted, sub, asked[1], last):
                    yield items
                last = max(last, asked[1])
            items = [i for i in taken if i.position > last and sub.closed is None]
            if items:
                last = items[-1].position
                yield items
            elif sub.closed is None and not asked[0] and asked[1] is None:
                yield None
        yield Closed(sub.closed)
    finally:
        hub.leave(sub)


async def _from(container: Container, principal: Principal | None, wanted: Wanted,
                sub: Subscriber, after: int, last: int) -> AsyncIterator[list[Item]]:
    """The stored events in (after, last] once the replay's index has ``last`` (nothing when
    ``after`` is not before ``last``: the live events after ``after`` follow); the stream is
    closed (``not_caught_up``) when the index stays behind, rather than leave a gap."""
    if after >= last:
        return
    timeout = container.settings.read_wait_timeout_ms / 1000
    if not await wait_for(container.pool, CHAIN, last, timeout):
        sub.close("not_caught_up")
        return
    async for items in _replayed(container, principal, wanted._replace(after=after), last):
        yield items


async def _replayed(container: Container, principal: Principal | None, wanted: Wanted,
                    upto: int) -> AsyncIterator[list[Item]]:
    """The stored events in (after, upto] that the stream wants, a page at a time."""
    single = wanted.types[0] if wanted.types and len(wanted.types) == 1 else None
    matches, after = wanted.matches, wanted.after
    while True:
        filters = queries.Filters(wanted.organization_id, type=single, after=after)
        found = await read_as(container, principal, functools.partial(
            queries.positions_upto, filters=filters, upto=upto, limit=REPLAY_PAGE))
        if not found:
            return
        async with container.pool.connection() as conn:
            events = await queries.stored(conn, found)
        items = [Item(p, e) for p, e in events if matches is None or matches(e.event_type)]
        if items:
            yield items
        if len(found) < REPLAY_PAGE:
            return
        after = found[-1]


_encoder = msgspec.json.Encoder()


def event_json(item: Item) -> bytes:
    """The event as GET /v1/events shows it, encoded once for every stream."""
    cached = item.frames.get("json")
    if cached is None:
        cached = item.frames["json"] = _encoder.encode(event_out(item.position, item.envelope))
    return cached


def closing_json(reason: str) -> bytes:
    return _encoder.encode({"reason": reason, "message": CLOSING.get(reason, reason)})
