"""The relay's announcements of what it published, on Redis pub/sub, for the live streams.

After Kafka acknowledged a batch and the checkpoint moved, the relay publishes one message on
``<prefix>events.live``: the checkpoint before the batch (``prev``), the batch's last position
(``last``) and its events with their store positions, in store order. Every API process's hub
(infra/streamhub.py) follows the channel on its one invalidation-feed connection. Pub/sub is
at-most-once: a hub that sees ``prev`` beyond what it has, or that heard nothing for a while,
reads the gap from the event store, so a lost message costs a read, never an event.

A batch too large for one message (``MAX_MESSAGE_BYTES``) is announced without its events; the
hubs read it from the store. Redis being down never slows the relay: after a failure it stays
quiet for ``QUIET_S`` (the hubs poll the relay's checkpoint meanwhile).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import msgspec
import redis
from redis.exceptions import RedisError

from domain.envelope import Envelope
from infra.eventstore import Recorded
from infra.settings import Settings

log = logging.getLogger("chronicle.livefeed")

CHANNEL = "events.live"
MAX_MESSAGE_BYTES = 512 * 1024
QUIET_S = 5.0
TIMEOUT_S = 0.25


class Announcement(msgspec.Struct, frozen=True):
    prev: int  # the relay's checkpoint before this batch
    last: int  # the batch's last position
    events: list[tuple[int, Envelope]] = []  # empty: too large, read the store


def message(prev: int, batch: Sequence[Recorded]) -> bytes:
    """The announcement of ``batch``: the stored bytes are spliced in, not encoded again."""
    last = batch[-1].position if batch else prev
    size = sum(len(r.data) for r in batch)
    if size > MAX_MESSAGE_BYTES:
        return b'{"prev":%d,"last":%d,"events":[]}' % (prev, last)
    events = b",".join(b"[%d,%s]" % (r.position, r.data) for r in batch)
    return b'{"prev":%d,"last":%d,"events":[%s]}' % (prev, last, events)


class Heads(msgspec.Struct, frozen=True):
    """An announcement's positions alone: its events are skipped, never decoded."""

    prev: int
    last: int


_decoder = msgspec.json.Decoder(Announcement)
_heads = msgspec.json.Decoder(Heads)


def parse(data: bytes | str) -> Announcement:
    return _decoder.decode(data)


def heads(data: bytes | str) -> Heads:
    return _heads.decode(data)


class Announcer:
    """The relay's side: one publish per acknowledged batch, never raising."""

    def __init__(self, settings: Settings) -> None:
        # Nothing connects here: redis-py connects on the first publish.
        self.client = redis.Redis.from_url(settings.redis_url, socket_timeout=TIMEOUT_S,
                                           socket_connect_timeout=TIMEOUT_S)
        self.channel = f"{settings.redis_key_prefix}{CHANNEL}"
        self.quiet_until = 0.0

    def __call__(self, prev: int, batch: Sequence[Recorded]) -> None:
        now = time.monotonic()
        if now < self.quiet_until:
            return
        try:
            self.client.publish(self.channel, message(prev, batch))
        except RedisError as exc:
            log.warning("could not announce positions %d-%d to the live streams (quiet for"
                        " %.0f s; the API processes read them from the store): %s",
                        prev + 1, batch[-1].position if batch else prev, QUIET_S, exc)
            self.quiet_until = now + QUIET_S

    def close(self) -> None:
        self.client.close()
