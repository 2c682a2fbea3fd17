"""One Redis pub/sub feed per API process, telling its in-memory caches what changed.

Projectors publish the ids of changed rows after each committed batch; every cache that
registered for the channel evicts them. When the connection drops, a message may have been
missed, so every cache is reset, and the feed subscribes again. A handler that raises is taken
for a lost message too, so handlers parse messages with ``ids_in``, which never raises.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

import redis.asyncio as aioredis

log = logging.getLogger("chronicle.invalidation")


def ids_in(data: str) -> list[UUID]:
    """The ids of a message (comma-separated); a part that is not an id evicts nothing."""
    return list(_parsed(data))


@functools.lru_cache(maxsize=16)
def _parsed(data: str) -> tuple[UUID, ...]:
    # Several caches listen on one channel (keys and organizations on the organizations'):
    # a message is parsed once, not once per cache; under a burst of creates each message
    # holds a batch of ids.
    ids = []
    for part in filter(None, data.split(",")):
        try:
            ids.append(UUID(part))
        except ValueError:
            log.warning("ignored %r in a cache invalidation message: not an id", part[:64])
    return tuple(ids)


@dataclass
class Feed:
    handlers: dict[str, list[tuple[Callable[[str], None], Callable[[], None]]]] = field(
        default_factory=dict)

    def on(self, channel: str, message: Callable[[str], None], reset: Callable[[], None]) -> None:
        self.handlers.setdefault(channel, []).append((message, reset))

    def reset(self) -> None:
        for handlers in self.handlers.values():
            for _message, reset in handlers:
                reset()

    def dispatch(self, channel: str, data: str) -> None:
        for message, _reset in self.handlers.get(channel, ()):
            message(data)

    async def follow(self, client: aioredis.Redis, retry_s: float = 1.0) -> None:
        while True:
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(*self.handlers)
                    self.reset()
                    async for item in pubsub.listen():
                        if item.get("type") == "message":
                            self.dispatch(item["channel"].decode(), item["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep following whatever happens to Redis
                log.warning("lost the cache invalidation feed: %s", exc)
                self.reset()
                await asyncio.sleep(retry_s)
