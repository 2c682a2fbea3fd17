"""Live event streams over a real API process (granian) fed by the session's relay through
Redis: SSE and WebSocket receive live events, resume without gap or duplicate, never see
another organization's events, answer 429 beyond the organization's limit, and heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from litestar.testing import TestClient
from psycopg_pool import AsyncConnectionPool
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from infra.livefeed import Announcement
from infra.settings import Settings
from infra.streamhub import Hub
from infra.streamquota import StreamQuota
from projections.event_queries import matching
from tests.conftest import ADMIN_TOKEN, Workers, free_port, ready, spawn, wait_until
from tests.integration.test_api_keys import issue, new_org

MAX_PER_ORG = 3
READ_S = 15.0


@contextlib.contextmanager
def api_process(settings: Settings, log: Path) -> Iterator[str]:
    """`chronicle api` on the session's services; the session's relay announces to it."""
    port = free_port()
    process = spawn(settings, "api", log=log, PORT=str(port), API_WORKERS="1",
                    REDIS_KEY_PREFIX=settings.redis_key_prefix, STREAM_HEARTBEAT="0.3",
                    STREAM_MAX_PER_ORG=str(MAX_PER_ORG), ENABLE_REQUEST_LOG="false")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: ready(url), timeout=60, message=f"api ready ({_tail(log)})")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def api(settings: Settings, workers: Workers, tmp_path_factory: pytest.TempPathFactory,
        ) -> Iterator[str]:
    del workers  # running: the relay and the hash chain feed the streams
    with api_process(settings, tmp_path_factory.mktemp("streams") / "api.log") as url:
        yield url


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


class Tenant:
    def __init__(self, client: TestClient[Any]) -> None:
        self.client = client
        self.id = new_org(client)["id"]
        self.key = issue(client, self.id)
        self.renames = 0

    def rename(self) -> int:
        """One organization.Renamed event; its store position."""
        self.renames += 1
        done = self.client.patch(f"/v1/organizations/{self.id}",
                                 json={"name": f"Name {self.renames}"})
        assert done.status_code == 200, done.text
        return int(done.json()["position"])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class Sse:
    """One SSE response read frame by frame: {"id", "event", "data", "comments"}."""

    def __init__(self, response: httpx.Response) -> None:
        self.response, self.lines = response, response.iter_lines()

    def frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {"comments": []}
        for line in self.lines:
            if not line:
                if len(frame) > 1 or frame["comments"]:
                    return frame
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if not name:
                frame["comments"].append(value)
            else:
                frame[name] = json.loads(value) if name == "data" else value
        raise AssertionError("the stream ended")

    def events(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` events (skipping heartbeats and comments)."""
        found: list[dict[str, Any]] = []
        while len(found) < count:
            frame = self.frame()
            if "data" in frame and "event" not in frame:
                assert int(frame["id"]) == frame["data"]["position"]
                found.append(frame["data"])
        return found

    def subscribed(self) -> Sse:
        assert any(c.startswith("subscribed at") for c in self.frame()["comments"])
        return self


def sse(api: str, tenant: Tenant, **params: Any) -> Any:
    headers = {**tenant.auth, **params.pop("headers", {})}
    return httpx.stream("GET", f"{api}/v1/events/stream", params=params, headers=headers,
                        timeout=READ_S)


def ws(api: str, tenant: Tenant | None, query: str = "") -> ClientConnection:
    headers = tenant.auth if tenant else {}
    return connect(f"{api.replace('http', 'ws')}/v1/ws{query}", additional_headers=headers,
                   open_timeout=READ_S)


def ws_events(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while len(found) < count:
        message = json.loads(socket.recv(timeout=READ_S))
        if message["type"] == "event":
            found.append(message["data"])
    return found


@pytest.fixture(scope="module")
def two(client: TestClient[Any]) -> tuple[Tenant, Tenant]:
    return Tenant(client), Tenant(client)


def test_sse_streams_the_organizations_events_live_and_never_another_organizations(
        api: str, two: tuple[Tenant, Tenant]) -> None:
    a, b = two
    with sse(api, a, types="organization.*") as response:  # not access.Denied of other tests
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Sse(response).subscribed()
        written: dict[str, list[int]] = {"a": [], "b": []}
        # Both organizations write at once; a's last write comes after all of b's.
        writers = [threading.Thread(target=lambda t=t, n=n: written[n].extend(
            t.rename() for _ in range(5))) for t, n in ((a, "a"), (b, "b"))]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        written["a"].append(a.rename())
        got = stream.events(len(written["a"]))
    assert [e["position"] for e in got] == written["a"]
    assert {e["organizationId"] for e in got} == {a.id}
    assert max(written["b"]) < written["a"][-1]  # b's events were due before a's last one
    assert got[-1]["type"] == "organization.Renamed"


def test_the_open_streams_are_counted_in_the_metrics(api: str, two: tuple[Tenant, Tenant],
                                                     ) -> None:
    with sse(api, two[0]) as response:
        reader = Sse(response).subscribed()  # kept: a dropped reader closes the stream
        text = httpx.get(f"{api}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                         timeout=READ_S).text
        assert reader.response.status_code == 200
    assert "# TYPE chronicle_streams_open gauge" in text
    assert re.search(r'^chronicle_streams_open\{pid="\d+"\} [1-9]', text, re.M)
    assert "# TYPE chronicle_streams_fanned_out_total counter" in text


STREAM_SERIES = re.compile(r'^http_server_request_duration_seconds_count\{http_request_method="GET",'
                           r'http_route="/v1/events/stream/?",http_response_status_code="200"\}'
                           r' (\S+)$', re.M)


def test_an_open_streams_request_is_complete_after_its_handshake_and_the_stream_goes_on(
        api: str, two: tuple[Tenant, Tenant]) -> None:
    """Handed off (api/streams/sse.py): the request has returned, timed and logged, so none of
    it is held for the stream's life; the stream still delivers."""

    def timed() -> float:
        text = httpx.get(f"{api}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                         timeout=READ_S).text
        found = STREAM_SERIES.search(text)
        return float(found.group(1)) if found else 0.0

    before = timed()
    with sse(api, two[0], types="organization.Renamed") as response:
        reader = Sse(response).subscribed()
        wait_until(lambda: timed() == before + 1, timeout=READ_S,
                   message="the open stream's request timed")
        position = two[0].rename()
        assert reader.events(1)[0]["position"] == position


def test_sse_resumes_from_last_event_id_with_no_gap_and_no_duplicate(
        api: str, two: tuple[Tenant, Tenant]) -> None:
    a, _ = two
    renamed = {"types": "organization.Renamed"}
    with sse(api, a, **renamed) as response:
        stream = Sse(response).subscribed()
        first = [a.rename(), a.rename()]
        seen = stream.events(2)
    assert [e["position"] for e in seen] == first
    missed = [a.rename() for _ in range(3)]  # while disconnected
    with sse(api, a, headers={"Last-Event-ID": str(first[-1])}, **renamed) as response:
        stream = Sse(response).subscribed()
        live = [a.rename() for _ in range(2)]  # while it replays, or after
        again = stream.events(5)
    assert [e["position"] for e in again] == missed + live


def test_websocket_streams_live_events_and_resumes_after_a_dropped_connection(
        api: str, two: tuple[Tenant, Tenant]) -> None:
    a, b = two
    with ws(api, a, "?types=organization.*") as socket:
        hello = json.loads(socket.recv(timeout=READ_S))
        assert hello["type"] == "subscribed"
        b.rename()
        first = a.rename()
        assert [e["position"] for e in ws_events(socket, 1)] == [first]
    missed = [a.rename(), b.rename(), a.rename()]
    with ws(api, a, f"?types=organization.*&after={first}") as socket:
        more = a.rename()
        got = ws_events(socket, 3)
    assert [e["position"] for e in got] == [missed[0], missed[2], more]
    assert {e["organizationId"] for e in got} == {a.id}


def test_a_websocket_without_credentials_is_told_why_and_closed(api: str) -> None:
    with ws(api, None) as socket:
        message = json.loads(socket.recv(timeout=READ_S))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=READ_S)
    assert message["type"] == "error"
    assert message["error"]["code"] == "unauthorized"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


def test_streams_beyond_the_organizations_limit_answer_429_with_the_error_body(
        api: str, client: TestClient[Any]) -> None:
    tenant = Tenant(client)
    opened = [sse(api, tenant) for _ in range(MAX_PER_ORG)]
    responses = [o.__enter__() for o in opened]
    try:
        # Kept: a dropped reader closes its response, and the stream with it.
        readers = [Sse(r).subscribed() for r in responses]
        refused = httpx.get(f"{api}/v1/events/stream", headers=tenant.auth, timeout=READ_S)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "rate_limited"
        assert error["details"] == {"limit": "STREAM_MAX_PER_ORG", "max": MAX_PER_ORG}
        with ws(api, tenant) as socket:
            assert json.loads(socket.recv(timeout=READ_S))["error"]["code"] == "rate_limited"
        assert all(r.response.status_code == 200 for r in readers)
    finally:
        for o in opened:
            o.__exit__(None, None, None)
    # A closed stream gives its place back.
    wait_until(lambda: status_of(sse(api, tenant)) == 200, message="a freed place")


def test_the_organizations_limit_holds_across_api_processes(
        api: str, client: TestClient[Any], settings: Settings, tmp_path: Path) -> None:
    tenant = Tenant(client)
    opened = [sse(api, tenant) for _ in range(MAX_PER_ORG)]
    readers = [Sse(o.__enter__()).subscribed() for o in opened]
    try:
        with api_process(settings, tmp_path / "other.log") as other:
            assert status_of(sse(other, tenant)) == 429
            opened.pop().__exit__(None, None, None)
            readers.pop()
            wait_until(lambda: status_of(sse(other, tenant)) == 200, message="a freed place")
    finally:
        for o in opened:
            o.__exit__(None, None, None)


def status_of(stream: Any) -> int:
    with stream as response:
        return int(response.status_code)


def test_an_idle_stream_gets_heartbeats(api: str, two: tuple[Tenant, Tenant]) -> None:
    a, _ = two
    with sse(api, a, types="nothing.*") as response:
        stream = Sse(response).subscribed()
        assert "heartbeat" in stream.frame()["comments"]
    with ws(api, a, "?types=nothing.*") as socket:
        assert json.loads(socket.recv(timeout=READ_S))["type"] == "subscribed"
        assert json.loads(socket.recv(timeout=READ_S))["type"] == "heartbeat"


def test_streams_are_refused_like_get_events(api: str, client: TestClient[Any],
                                             two: tuple[Tenant, Tenant]) -> None:
    a, b = two
    foreign = httpx.get(f"{api}/v1/events/stream", params={"organization_id": b.id},
                        headers=a.auth, timeout=READ_S)
    assert foreign.status_code == 404
    assert b.id not in foreign.text
    reader = issue(client, a.id, permissions=[{"resource": "organizations",
                                               "actions": ["read"]}])
    denied = httpx.get(f"{api}/v1/events/stream", timeout=READ_S,
                       headers={"Authorization": f"Bearer {reader}"})
    assert denied.status_code == 403
    bad = httpx.get(f"{api}/v1/events/stream", params={"types": "a%b"}, headers=a.auth,
                    timeout=READ_S)
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["field"] == "types"
    operator = httpx.get(f"{api}/v1/events/stream", timeout=READ_S,
                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}",
                                  "Last-Event-ID": "not a position"})
    assert operator.status_code == 400


def test_the_hub_reads_from_the_store_what_the_announcements_missed(
        settings: Settings, two: tuple[Tenant, Tenant]) -> None:
    """A lost message, or one announced without its events, costs a read, never an event."""
    a, b = two
    first = a.rename()
    missed = [a.rename(), b.rename(), a.rename()]

    async def scenario() -> tuple[list[int], int]:
        pool = AsyncConnectionPool(settings.database_url, min_size=1, max_size=1, open=False)
        await pool.open()
        try:
            hub = Hub(pool, settings)
            hub.last = first
            # Renames only: the denials of other tests are appended in the background.
            sub = hub.join(uuid.UUID(a.id), matching(["organization.Renamed"]).fullmatch)
            # The relay announced only the last batch, without its events (too large).
            await hub._apply(Announcement(prev=missed[1], last=missed[2]))
            return [i.position for i in sub.queue], hub.last
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == ([missed[0], missed[2]], missed[2])


def test_a_thousand_streams_ending_at_once_give_every_place_back(settings: Settings) -> None:
    """More releases at once than the Redis pool has connections: one pipeline, none lost."""
    org, members = uuid.uuid4(), [f"m{i}" for i in range(1000)]

    async def scenario() -> tuple[int, int]:
        client = aioredis.Redis.from_url(settings.redis_url, max_connections=4)
        quota = StreamQuota(client, settings.redis_key_prefix, len(members), ttl_s=60)
        try:
            for member in members:
                assert await quota.claim(org, member)
            claimed = await client.zcard(quota.key(org))
            for member in members:
                quota.release(org, member)
            assert quota.flushing is not None
            await quota.flushing
            return claimed, await client.zcard(quota.key(org))
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == (1000, 0)
