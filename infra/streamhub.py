"""The API process's live event hub: one upstream, fanned out in memory to every open stream.

Upstream is the relay's announcements (infra/livefeed.py), heard on the process's one Redis
pub/sub connection (the invalidation feed, infra/invalidation.py). The hub remembers the last
position it delivered and delivers every later event once, in store order: whatever the
announcements miss (a lost message, a reconnect, a batch announced without its events, a relay
that said nothing for ``stream_sync_s``) is read from the event store, up to a position the
relay vouched for (its announcement or its checkpoint). A subscriber that joins while the hub
is at H therefore receives every event after H; its replay from the store covers the rest.

A subscriber is a small object, not a task nor a timer: a bounded list of events and the future
its stream waits on. Delivery appends and wakes it; a subscriber whose list is full is dropped
at once (``slow_consumer``), so a slow client never holds up the others nor grows the process.
One task of the hub ticks every STREAM_HEARTBEAT seconds and wakes, empty-handed, the streams
that received nothing since the last tick: they send a heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from domain.envelope import Envelope, decode
from infra.eventstore import EVENTS_TABLE
from infra.livefeed import CHANNEL, Announcement, heads, parse
from infra.relay import RELAY_NAME
from infra.settings import Settings
from infra.streamquota import StreamQuota

log = logging.getLogger("chronicle.streams")

READ_BATCH = 500
MAX_INBOX = 1000  # announcements waiting for the hub; beyond, it reads the store instead
BETWEEN = (f"SELECT notification_id, state FROM {EVENTS_TABLE} WHERE notification_id > %s"
           " AND notification_id <= %s ORDER BY notification_id LIMIT %s")
RELAY_POSITION = "SELECT position FROM relay_checkpoint WHERE name = %s"

Matches = Callable[[str], object] | None  # an event type filter; None: every type


class Item:
    """One delivered event; ``frames`` caches its encodings, made once for all subscribers."""

    __slots__ = ("envelope", "frames", "position")

    def __init__(self, position: int, envelope: Envelope) -> None:
        self.position, self.envelope = position, envelope
        self.frames: dict[str, bytes] = {}


class Subscriber:
    """One open stream: its organization (None: the operator's, every organization), its type
    filter, the events waiting for it, and why it was closed (None while open)."""

    __slots__ = ("closed", "fed", "limit", "matches", "member", "organization_id", "queue",
                 "start", "waiter")

    def __init__(self, organization_id: UUID | None, matches: Matches, limit: int,
                 start: int, member: str | None = None) -> None:
        self.organization_id, self.matches, self.limit = organization_id, matches, limit
        self.member = member  # its place in the organization's quota (infra/streamquota.py)
        self.start = start  # the hub's position when it joined: later events arrive here
        self.queue: list[Item] = []
        self.waiter: asyncio.Future[None] | None = None
        self.closed: str | None = None
        self.fed = False  # something arrived since the last heartbeat

    def offer(self, items: list[Item]) -> bool:
        """Queue ``items``; False (and closed) when the client is too far behind."""
        if not items:
            return True
        if len(self.queue) + len(items) > self.limit:
            self.close("slow_consumer")
            return False
        self.queue.extend(items)
        self.fed = True
        self.wake()
        return True

    def close(self, reason: str) -> None:
        self.closed = reason
        self.queue = []
        self.wake()

    def beat(self) -> None:
        """The hub's heartbeat tick: a stream that got nothing since the last one wakes empty."""
        if not self.fed:
            self.wake()
        self.fed = False

    def wake(self) -> None:
        """Wake the stream waiting in ``take`` (with whatever is queued, maybe nothing)."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self) -> list[Item]:
        """What arrived; empty once closed, or when a heartbeat is due."""
        if not self.queue and self.closed is None:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        items, self.queue = self.queue, []
        return items


class Hub:
    def __init__(self, pool: AsyncConnectionPool, settings: Settings,
                 quota: StreamQuota | None = None) -> None:
        self.pool, self.quota = pool, quota
        self.per_org, self.per_process = settings.stream_max_per_org, settings.stream_max_per_process
        self.queue_size, self.sync_s = settings.stream_queue, settings.stream_sync_s
        self.heartbeat_s = settings.stream_heartbeat_s
        self.channel = f"{settings.redis_key_prefix}{CHANNEL}"
        self.groups: dict[UUID | None, set[Subscriber]] = {}
        self.count = 0
        self.last: int | None = None  # None until the relay's checkpoint was read
        self.inbox: deque[str | None] = deque()  # None: read the store up to the checkpoint
        self.arrived = asyncio.Event()
        self.delivered = 0
        self.dropped = 0

    def refusal(self, organization_id: UUID | None) -> str | None:
        """Why one more stream is refused now (a catalog reason), or None."""
        if self.last is None:
            return "service_unavailable"
        if self.count >= self.per_process:
            return "streams_full"
        if organization_id is not None and len(
                self.groups.get(organization_id, ())) >= self.per_org:
            return "too_many_streams"
        return None

    async def claim(self, organization_id: UUID | None) -> str | None:
        """A place in the organization's quota across processes: its member id, or None when
        the organization has none left (the operator's every-organization stream needs none)."""
        if self.quota is None or organization_id is None:
            return ""
        member = uuid.uuid4().hex
        return member if await self.quota.claim(organization_id, member) else None

    def join(self, organization_id: UUID | None, matches: Matches,
             member: str | None = None) -> Subscriber:
        assert self.last is not None, "refusal() said the hub is ready"
        sub = Subscriber(organization_id, matches, self.queue_size, self.last, member)
        self.groups.setdefault(organization_id, set()).add(sub)
        self.count += 1
        return sub

    def leave(self, sub: Subscriber) -> None:
        group = self.groups.get(sub.organization_id)
        if group is not None and sub in group:
            group.discard(sub)
            self.count -= 1
            if not group:
                del self.groups[sub.organization_id]
            if self.quota is not None and sub.member and sub.organization_id is not None:
                self.quota.release(sub.organization_id, sub.member)

    def on_message(self, data: str) -> None:
        """The feed's handler: queue it for the hub's task (never raises, never blocks)."""
        if len(self.inbox) >= MAX_INBOX:
            self.inbox.clear()
            self.inbox.append(None)
        else:
            self.inbox.append(data)
        self.arrived.set()

    def on_reset(self) -> None:
        """The feed (re)subscribed: announcements may have been missed meanwhile."""
        self.inbox.append(None)
        self.arrived.set()

    async def run(self) -> None:
        """The hub's one task, until cancelled; then every stream is told the server stops."""
        try:
            while True:
                try:
                    await self._step()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # PostgreSQL or a bad message: read the store later
                    log.warning("live streams: %s; reading the store again in 1 s", exc)
                    self.inbox.appendleft(None)
                    await asyncio.sleep(1)
        finally:
            self.close_all("server_shutdown")

    async def heartbeats(self) -> None:
        """Every STREAM_HEARTBEAT seconds: wake the quiet streams, extend the quota's places."""
        while True:
            await asyncio.sleep(self.heartbeat_s)
            placed = []
            for group in self.groups.values():
                for sub in group:
                    sub.beat()
                    if sub.member and sub.organization_id is not None:
                        placed.append((sub.organization_id, sub.member))
            if self.quota is not None and placed:
                await self.quota.refresh(placed)

    async def _step(self) -> None:
        if self.last is None:
            self.last = await self._relay_position()
            return
        if not self.inbox:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.sync_s):
                    await self.arrived.wait()
        data = self.inbox.popleft() if self.inbox else None
        if not self.count:
            # No stream is open here: there is nobody to deliver to, so only the position moves
            # (every API worker hears every announcement; decoding its events was most of
            # what a worker spent on a create it did not serve).
            upto = await self._relay_position() if data is None else heads(data).last
            self.last = max(self.last, upto)
            return
        if data is None:
            await self._catch_up(await self._relay_position())
        else:
            await self._apply(parse(data))

    async def _apply(self, announced: Announcement) -> None:
        assert self.last is not None
        if announced.prev > self.last:
            await self._catch_up(announced.prev)
        last = self.last
        self._deliver([(p, e) for p, e in announced.events if p > last])
        if announced.last > self.last:
            await self._catch_up(announced.last)

    async def _catch_up(self, upto: int) -> None:
        """Deliver what the store holds after the hub's position, up to ``upto``."""
        while self.last is not None and self.last < upto:
            async with self.pool.connection() as conn:
                cur = await conn.execute(BETWEEN, (self.last, upto, READ_BATCH))
                rows = await cur.fetchall()
            self._deliver([(position, decode(bytes(state))) for position, state in rows])
            if len(rows) < READ_BATCH:
                self.last = upto

    def _deliver(self, batch: list[tuple[int, Envelope]]) -> None:
        """Hand a batch (in store order) to its subscribers: each gets its share at once and
        wakes once, so the cost grows with subscribers per batch, not per event."""
        if not batch:
            return
        self.last = batch[-1][0]
        everyone = self.groups.get(None)
        shares: dict[UUID, list[Item]] = {}
        every: list[Item] = []
        for position, envelope in batch:
            org = envelope.organization_id
            if org in self.groups or everyone:
                item = Item(position, envelope)
                shares.setdefault(org, []).append(item)
                every.append(item)
        self.delivered += len(every)
        for org, items in shares.items():
            self._hand(self.groups.get(org), items)
        self._hand(everyone, every)

    def _hand(self, group: set[Subscriber] | None, items: list[Item]) -> None:
        if not group or not items:
            return
        dropped = [sub for sub in group if not sub.offer(items if sub.matches is None else [
            i for i in items if sub.matches(i.envelope.event_type)])]
        for sub in dropped:
            self.dropped += 1
            self.leave(sub)

    async def _relay_position(self) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(RELAY_POSITION, (RELAY_NAME,))
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    def close_all(self, reason: str) -> None:
        for group in self.groups.values():
            for sub in group:
                sub.close(reason)
        self.groups.clear()
        self.count = 0
