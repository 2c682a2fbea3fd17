"""A generic in-process read-through cache: typed keys and values, one TTL for what was found
and a shorter one for what was not, explicit invalidation, and a bound on its size.

Each API process keeps its credentials' and organizations' state in one of these, evicted by
the invalidation feed (infra/invalidation.py) and bounded by the TTL if a message is lost.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReadThrough(Generic[K, V]):
    """``load(key)`` answers the value, or None when there is none (a miss, cached briefly).

    Callers asking for a key that is being loaded wait for that one load (a cold key under load
    costs one query, not one per request), and a caller that gives up does not cancel it for
    the others. A load that an eviction overtook still answers its callers but is not kept: what
    it read may be older than the change that evicted the key. Past ``max_entries`` the least
    recently used entry goes, so ids nobody holds (a caller guessing keys) cannot grow the
    process.
    """

    def __init__(self, load: Callable[[K], Awaitable[V | None]], *, ttl_s: float,
                 miss_ttl_s: float, max_entries: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load, self._clock = load, clock
        self.ttl_s, self.miss_ttl_s, self.max_entries = ttl_s, miss_ttl_s, max_entries
        self._entries: OrderedDict[K, tuple[V | None, float]] = OrderedDict()
        self._loading: dict[K, asyncio.Future[V | None]] = {}  # the load under way of each key

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: K) -> V | None:
        now = self._clock()
        found = self._entries.get(key)
        if found is not None and now - found[1] < (self.ttl_s if found[0] is not None
                                                   else self.miss_ttl_s):
            self._entries.move_to_end(key)
            return found[0]
        loading = self._loading.get(key)
        if loading is None:
            loading = self._loading[key] = asyncio.ensure_future(self._load(key))
            loading.add_done_callback(functools.partial(self._loaded, key, now))
        return await asyncio.shield(loading)

    def _loaded(self, key: K, loaded_at: float, loading: asyncio.Future[V | None]) -> None:
        """Runs before the load's callers resume, so the next ``get`` finds what it kept."""
        current = self._loading.get(key) is loading
        if current:
            del self._loading[key]
        if loading.cancelled() or loading.exception() is not None or not current:
            return
        self._keep(key, loading.result(), loaded_at)

    def _keep(self, key: K, value: V | None, loaded_at: float) -> None:
        self._entries[key] = (value, loaded_at)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def evict(self, keys: Iterable[K]) -> None:
        for key in keys:
            self._entries.pop(key, None)
            self._loading.pop(key, None)

    def evict_where(self, stale: Callable[[V], bool]) -> None:
        """Drop every cached value ``stale`` says changed, and every load still under way
        (its value is not known yet, so it may be one of them)."""
        for key in [k for k, (v, _at) in self._entries.items() if v is not None and stale(v)]:
            del self._entries[key]
        self._loading.clear()

    def clear(self) -> None:
        self._entries.clear()
        self._loading.clear()
