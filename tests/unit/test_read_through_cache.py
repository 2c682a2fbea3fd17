"""The generic read-through cache (infra/cache.py) and the two caches built on it, on a fake
loader and an explicit clock: no database, no Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, cast
from uuid import UUID, uuid4

import pytest

from infra.cache import ReadThrough
from infra.invalidation import Feed, ids_in
from infra.keycache import KeyCache
from infra.orgcache import OrgCache


class Source:
    """A loader that counts its calls and answers from a dict (None when absent)."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})
        self.calls: list[str] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, key: str) -> str | None:
        self.calls.append(key)
        if self.gate is not None:
            await self.gate.wait()
        if key == "boom":
            raise RuntimeError("the source is down")
        return self.values.get(key)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache_of(source: Source, clock: Clock, max_entries: int = 100) -> ReadThrough[str, str]:
    return ReadThrough(source, ttl_s=10.0, miss_ttl_s=2.0, max_entries=max_entries, clock=clock)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def test_a_found_value_is_served_from_memory_until_its_ttl_ends() -> None:
    source, clock = Source({"a": "1"}), Clock()
    cache = cache_of(source, clock)

    async def scenario() -> list[str | None]:
        first = await cache.get("a")
        source.values["a"] = "2"
        clock.now += 9.9
        cached = await cache.get("a")
        clock.now += 0.1
        return [first, cached, await cache.get("a")]

    assert run(scenario()) == ["1", "1", "2"]
    assert source.calls == ["a", "a"]


def test_a_miss_is_remembered_only_for_the_shorter_miss_ttl() -> None:
    source, clock = Source(), Clock()
    cache = cache_of(source, clock)

    async def scenario() -> list[str | None]:
        first = await cache.get("a")
        source.values["a"] = "1"
        clock.now += 1.9
        cached = await cache.get("a")
        clock.now += 0.1
        return [first, cached, await cache.get("a")]

    assert run(scenario()) == [None, None, "1"]
    assert source.calls == ["a", "a"]


def test_evicting_a_key_loads_it_again_and_leaves_the_others_cached() -> None:
    source, clock = Source({"a": "1", "b": "1"}), Clock()
    cache = cache_of(source, clock)

    async def scenario() -> None:
        await cache.get("a")
        await cache.get("b")
        cache.evict(["a", "unknown"])
        await cache.get("a")
        await cache.get("b")

    run(scenario())
    assert source.calls == ["a", "b", "a"]


def test_evict_where_drops_the_values_it_names_and_keeps_the_rest() -> None:
    source, clock = Source({"a": "old", "b": "new"}), Clock()
    cache = cache_of(source, clock)

    async def scenario() -> None:
        for key in ("a", "b", "missing"):
            await cache.get(key)
        cache.evict_where(lambda value: value == "old")
        for key in ("a", "b", "missing"):
            await cache.get(key)

    run(scenario())
    assert source.calls == ["a", "b", "missing", "a"]


@pytest.mark.parametrize("invalidate", [
    lambda cache: cache.evict(["a"]),
    lambda cache: cache.evict_where(lambda _value: False),
    lambda cache: cache.clear(),
], ids=["evict", "evict_where", "clear"])
def test_a_load_overtaken_by_an_invalidation_answers_but_is_not_kept(
        invalidate: Callable[[ReadThrough[str, str]], None]) -> None:
    source, clock = Source({"a": "before"}), Clock()
    cache = cache_of(source, clock)

    async def scenario() -> list[str | None]:
        source.gate = asyncio.Event()
        loading = asyncio.create_task(cache.get("a"))
        await asyncio.sleep(0)
        invalidate(cache)
        source.gate.set()
        answered = await loading
        source.gate, source.values["a"] = None, "after"
        return [answered, await cache.get("a")]

    assert run(scenario()) == ["before", "after"]
    assert len(source.calls) == 2


def test_callers_of_a_key_being_loaded_share_that_one_load() -> None:
    source, clock = Source({"a": "1"}), Clock()
    cache = cache_of(source, clock)

    async def scenario() -> list[str | None]:
        source.gate = asyncio.Event()
        callers = [asyncio.create_task(cache.get("a")) for _ in range(5)]
        await asyncio.sleep(0)
        source.gate.set()
        return [*await asyncio.gather(*callers), await cache.get("a")]

    assert run(scenario()) == ["1"] * 6
    assert source.calls == ["a"]


def test_a_caller_that_gives_up_does_not_cancel_the_load_for_the_others() -> None:
    source, clock = Source({"a": "1"}), Clock()
    cache = cache_of(source, clock)

    async def scenario() -> str | None:
        source.gate = asyncio.Event()
        quitter, waiter = (asyncio.create_task(cache.get("a")) for _ in range(2))
        await asyncio.sleep(0)
        quitter.cancel()
        source.gate.set()
        answered = await waiter
        assert quitter.cancelled()
        return answered

    assert run(scenario()) == "1"
    assert source.calls == ["a"]
    assert len(cache) == 1


def test_a_shared_load_that_fails_raises_to_every_caller() -> None:
    source, clock = Source(), Clock()
    cache = cache_of(source, clock)

    async def scenario() -> list[BaseException | str | None]:
        source.gate = asyncio.Event()
        callers = [asyncio.create_task(cache.get("boom")) for _ in range(3)]
        await asyncio.sleep(0)
        source.gate.set()
        return await asyncio.gather(*callers, return_exceptions=True)

    assert all(isinstance(r, RuntimeError) for r in run(scenario()))
    assert source.calls == ["boom"]


def test_a_failed_load_raises_to_its_caller_and_keeps_nothing() -> None:
    source, clock = Source(), Clock()
    cache = cache_of(source, clock)

    async def scenario() -> None:
        for _ in range(2):
            with pytest.raises(RuntimeError):
                await cache.get("boom")

    run(scenario())
    assert source.calls == ["boom", "boom"]
    assert len(cache) == 0


def test_past_its_bound_the_least_recently_used_entry_goes() -> None:
    source, clock = Source({"a": "1", "b": "2", "c": "3"}), Clock()
    cache = cache_of(source, clock, max_entries=2)

    async def scenario() -> None:
        await cache.get("a")
        await cache.get("b")
        await cache.get("a")  # now b is the least recently used
        await cache.get("c")
        await cache.get("a")
        await cache.get("b")

    run(scenario())
    assert source.calls == ["a", "b", "c", "b"]
    assert len(cache) == 2


def test_an_invalidation_message_yields_its_ids_and_skips_what_is_not_one() -> None:
    good = uuid4()
    assert ids_in(f"{good},not-an-id,,{'x' * 40}") == [good]
    assert ids_in("") == []


class FakeKeys(KeyCache):
    """The API-key cache with its database replaced by a list of the ids it loaded."""

    def __init__(self) -> None:
        super().__init__(cast(Any, None), cast(Any, None))
        self.loaded: list[UUID] = []

    async def _load(self, key_id: UUID) -> Any:
        self.loaded.append(key_id)
        return key_id


class FakeOrganizations(OrgCache):
    """The organizations' cache with its database replaced by a list of the ids it loaded."""

    def __init__(self) -> None:
        super().__init__(cast(Any, None))
        self.loaded: list[UUID] = []

    async def _load(self, organization_id: UUID) -> Any:
        self.loaded.append(organization_id)
        return organization_id


@pytest.mark.parametrize("fake", [FakeKeys, FakeOrganizations], ids=["api keys", "organizations"])
def test_a_bad_id_in_a_message_evicts_the_good_ones_and_resets_no_cache(
        fake: Callable[[], FakeKeys | FakeOrganizations]) -> None:
    cache = fake()
    kept, changed = uuid4(), uuid4()
    feed = Feed()
    feed.on("changes", cache.evict_message, cache.reset)

    async def scenario() -> None:
        await cache.get(kept)
        await cache.get(changed)
        feed.dispatch("changes", f"not-an-id,{changed}")
        await cache.get(kept)
        await cache.get(changed)

    run(scenario())
    assert cache.loaded == [kept, changed, changed]


class Row(dict[str, Any]):
    """Just enough of an OrgPolicy for ``at_least``: the read-model row and its position."""

    @property
    def row(self) -> dict[str, Any]:
        return self


class Positions(OrgCache):
    """The organizations' cache over a dict of id -> the position its row has reached."""

    def __init__(self) -> None:
        super().__init__(cast(Any, None))
        self.db: dict[UUID, int] = {}
        self.loaded: list[UUID] = []

    async def _load(self, organization_id: UUID) -> Any:
        self.loaded.append(organization_id)
        return Row(position=self.db[organization_id])


def test_a_cached_organization_new_enough_for_min_position_is_served_without_a_query() -> None:
    cache, org = Positions(), uuid4()
    cache.db[org] = 7

    async def scenario() -> list[int]:
        return [(await cache.get(org)).row["position"],  # type: ignore[union-attr]
                (await cache.at_least(org, 7)).row["position"],  # type: ignore[union-attr]
                (await cache.at_least(org, 3)).row["position"]]  # type: ignore[union-attr]

    assert run(scenario()) == [7, 7, 7]
    assert cache.loaded == [org]


def test_an_older_cached_organization_is_read_again_and_later_reads_never_go_back() -> None:
    cache, org = Positions(), uuid4()
    cache.db[org] = 7

    async def scenario() -> list[int]:
        first = await cache.get(org)
        cache.db[org] = 9  # the projector applied a change whose announcement is still on its way
        fresh = await cache.at_least(org, 9)
        later = await cache.get(org)
        return [p.row["position"] for p in (first, fresh, later)]  # type: ignore[union-attr]

    assert run(scenario()) == [7, 9, 9]
    assert cache.loaded == [org, org]


class Origins(OrgCache):
    """The organizations' cache counting its reloads of every organization's origins."""

    def __init__(self) -> None:
        super().__init__(cast(Any, None))
        self.reloads = 0
        self.asked: list[set[UUID] | None] = []

    async def load_origins(self, ids: list[UUID] | None = None) -> None:
        self.reloads += 1
        self.asked.append(None if ids is None else set(ids))


def test_a_burst_of_organization_changes_reloads_the_preflight_origins_once() -> None:
    cache = Origins()

    async def scenario() -> int:
        follower = asyncio.ensure_future(cache.follow_origins(every_s=60, coalesce_s=0.3))
        for _ in range(50):  # fifty creates' announcements, close together
            cache.evict_message(str(uuid4()))
            await asyncio.sleep(0.0005)
        await asyncio.sleep(0.5)
        follower.cancel()
        return cache.reloads

    assert run(scenario()) == 1


def test_after_the_first_full_read_a_change_reads_only_the_organizations_it_names() -> None:
    cache = Origins()
    first, second = uuid4(), uuid4()

    async def scenario() -> list[set[UUID] | None]:
        follower = asyncio.ensure_future(cache.follow_origins(every_s=60, coalesce_s=0.05))
        cache.reset()  # what the feed does when it subscribes: nothing is known yet
        await asyncio.sleep(0.2)
        cache.evict_message(f"{first},{second}")
        await asyncio.sleep(0.2)
        follower.cancel()
        return cache.asked

    assert run(scenario()) == [None, {first, second}]
