"""Live streams for browsers and their refusals, over a real API process: a stream ticket opens
one stream once, as its caller, expires and never reaches the logs; an open WebSocket resumes
from a position on request without gap or duplicate and answers malformed messages with an
error frame; refused sockets become access.Denied entries of the audit trail."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from litestar.testing import TestClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from infra.requestlog import ApiRequest
from infra.settings import Settings
from tests.conftest import Workers, wait_until
from tests.integration.test_api_keys import issue
from tests.integration.test_streams import (
    MAX_PER_ORG,
    READ_S,
    Sse,
    Tenant,
    api_process,
    sse,
    ws,
    ws_events,
)

TICKETS = "/v1/events/stream/tickets"


@pytest.fixture(scope="module")
def served(settings: Settings, workers: Workers, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[str, Path]]:
    del workers  # running: the relay and the hash chain feed the streams
    log = tmp_path_factory.mktemp("stream-access") / "api.log"
    with api_process(settings, log) as url:
        yield url, log


@pytest.fixture(scope="module")
def api(served: tuple[str, Path]) -> str:
    return served[0]


@pytest.fixture(scope="module")
def two(client: TestClient[Any]) -> tuple[Tenant, Tenant]:
    return Tenant(client), Tenant(client)


def ticket(api: str, tenant: Tenant) -> str:
    issued = httpx.post(f"{api}{TICKETS}", headers=tenant.auth, timeout=READ_S)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["expiresIn"] == 60
    return str(body["ticket"])


def by_ticket(api: str, value: str, **params: Any) -> Any:
    return httpx.stream("GET", f"{api}/v1/events/stream", params={"ticket": value, **params},
                        timeout=READ_S)


def socket_by_ticket(api: str, value: str, query: str = "") -> ClientConnection:
    return connect(f"{api.replace('http', 'ws')}/v1/ws?ticket={value}{query}",
                   open_timeout=READ_S)


def refusal(socket: ClientConnection) -> tuple[dict[str, Any], int]:
    message = json.loads(socket.recv(timeout=READ_S))
    with pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=READ_S)
    assert message["type"] == "error"
    assert closed.value.rcvd is not None
    return message["error"], closed.value.rcvd.code


def test_a_ticket_opens_one_stream_once_as_its_caller(
        api: str, two: tuple[Tenant, Tenant]) -> None:
    a, b = two
    value = ticket(api, a)
    with by_ticket(api, value, types="organization.*") as response:
        assert response.status_code == 200
        stream = Sse(response).subscribed()
        b.rename()
        mine = a.rename()
        got = stream.events(1)
    assert [(e["position"], e["organizationId"]) for e in got] == [(mine, a.id)]
    with by_ticket(api, value) as again:
        assert again.status_code == 401
        again.read()
        assert again.json()["error"]["code"] == "invalid_token"
    other = ticket(api, a)
    with socket_by_ticket(api, other, "&types=organization.*") as socket:
        assert json.loads(socket.recv(timeout=READ_S))["type"] == "subscribed"
        renamed = a.rename()
        assert [e["position"] for e in ws_events(socket, 1)] == [renamed]
    with socket_by_ticket(api, other) as socket:
        error, code = refusal(socket)
    assert (error["code"], code) == ("invalid_token", 4401)


def test_a_ticket_cannot_cross_tenants_nor_widen_its_callers_permissions(
        api: str, client: TestClient[Any], two: tuple[Tenant, Tenant]) -> None:
    a, b = two
    with by_ticket(api, ticket(api, a), organization_id=b.id) as foreign:
        assert foreign.status_code == 404
    reader = issue(client, a.id, permissions=[{"resource": "organizations",
                                               "actions": ["read"]}])
    refused = httpx.post(f"{api}{TICKETS}", headers={"Authorization": f"Bearer {reader}"},
                         timeout=READ_S)
    assert refused.status_code == 403
    assert refused.json()["error"]["reason"] == "permission_denied"


def test_a_ticket_does_not_outlive_its_revoked_key(api: str, client: TestClient[Any],
                                                   two: tuple[Tenant, Tenant]) -> None:
    caller = Tenant.__new__(Tenant)
    caller.id, caller.key = two[0].id, issue(client, two[0].id)
    value = ticket(api, caller)
    key_id = uuid.UUID(caller.key.split("_")[2])
    revoked = client.delete(f"/v1/api-keys/{key_id}")
    assert revoked.status_code in (200, 204), revoked.text
    wait_until(lambda: httpx.get(f"{api}/v1/events", headers=caller.auth,
                                 timeout=READ_S).status_code == 401, message="the revocation")
    with by_ticket(api, value) as response:
        assert response.status_code == 401


def test_a_ticket_expires_with_its_key_in_redis(
        api: str, settings: Settings, two: tuple[Tenant, Tenant]) -> None:
    value = ticket(api, two[0])
    key = (f"{settings.redis_key_prefix}stream-ticket:"
           f"{hashlib.sha256(value.encode()).hexdigest()}")
    store = redis.Redis.from_url(settings.redis_url)
    try:
        assert 0 < store.ttl(key) <= 60
        assert value.encode() not in (store.get(key) or b"")
        store.pexpire(key, 1)
        wait_until(lambda: not store.exists(key), message="the ticket expired")
    finally:
        store.close()
    with by_ticket(api, value) as response:
        assert response.status_code == 401


def test_a_ticket_never_reaches_the_logs(served: tuple[str, Path],
                                         two: tuple[Tenant, Tenant]) -> None:
    api, log = served
    value = ticket(api, two[0])
    with by_ticket(api, value) as response:
        Sse(response).subscribed()
    with by_ticket(api, value) as response:
        assert response.status_code == 401
    assert value not in log.read_text(errors="replace")
    # The request log keeps the route template, never the query (infra/requestlog.py).
    assert {"query", "path", "url"}.isdisjoint(ApiRequest.__struct_fields__)


def test_an_open_websocket_resumes_from_a_position_without_gap_or_duplicate(
        api: str, two: tuple[Tenant, Tenant]) -> None:
    a, b = two
    with ws(api, a, "?types=organization.*") as socket:
        assert json.loads(socket.recv(timeout=READ_S))["type"] == "subscribed"
        written = [a.rename(), b.rename(), a.rename(), a.rename()]
        seen = ws_events(socket, 3)
        assert [e["position"] for e in seen] == [written[0], written[2], written[3]]
        socket.send(json.dumps({"type": "resume", "after": written[0]}))
        resumed = json.loads(socket.recv(timeout=READ_S))
        while resumed["type"] == "heartbeat":
            resumed = json.loads(socket.recv(timeout=READ_S))
        assert resumed == {"type": "resumed", "after": written[0]}
        later = a.rename()
        again = ws_events(socket, 3)
    assert [e["position"] for e in again] == [written[2], written[3], later]


@pytest.mark.parametrize("message", [
    "not json", "[]", '{"type":"resume"}', '{"type":"resume","after":-1}',
    '{"type":"resume","after":"12"}', '{"type":"pause"}', "x" * 5000, b"\x00binary"])
def test_a_malformed_client_message_gets_an_error_frame_and_the_stream_goes_on(
        api: str, two: tuple[Tenant, Tenant], message: str | bytes) -> None:
    a, _ = two
    with ws(api, a, "?types=organization.*") as socket:
        assert json.loads(socket.recv(timeout=READ_S))["type"] == "subscribed"
        socket.send(message)
        told = json.loads(socket.recv(timeout=READ_S))
        while told["type"] == "heartbeat":
            told = json.loads(socket.recv(timeout=READ_S))
        assert told["type"] == "error"
        assert told["error"]["code"] == "invalid_parameter"
        assert told["error"]["details"][0]["field"] in ("message", "after")
        renamed = a.rename()
        assert [e["position"] for e in ws_events(socket, 1)] == [renamed]


def denials(client: TestClient[Any], org: str) -> list[dict[str, Any]]:
    found = client.get("/v1/audit", params={"organization_id": org, "action": "deny",
                                            "limit": 100})
    assert found.status_code == 200, found.text
    return [e for e in found.json()["data"] if e["newValues"]["path"] == "/v1/ws"]


def test_refused_sockets_are_denials_in_the_audit_trail(
        api: str, client: TestClient[Any]) -> None:
    a, b = Tenant(client), Tenant(client)
    reader = issue(client, a.id, permissions=[{"resource": "organizations",
                                               "actions": ["read"]}])
    good = issue(client, a.id, permissions=[])
    bad_secret = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    with connect(f"{api.replace('http', 'ws')}/v1/ws", open_timeout=READ_S,
                 additional_headers={"Authorization": f"Bearer {reader}"}) as socket:
        assert refusal(socket)[1] == 4403
    with ws(api, a, f"?organization_id={b.id}") as socket:
        assert refusal(socket)[1] == 4404
    with connect(f"{api.replace('http', 'ws')}/v1/ws", open_timeout=READ_S,
                 additional_headers={"Authorization": f"Bearer {bad_secret}"}) as socket:
        assert refusal(socket)[1] == 4401
    opened = [sse(api, a) for _ in range(MAX_PER_ORG)]
    readers = [Sse(o.__enter__()).subscribed() for o in opened]
    try:
        with ws(api, a) as socket:
            assert refusal(socket)[1] == 4429
    finally:
        for o in opened:
            o.__exit__(None, None, None)
    assert len(readers) == MAX_PER_ORG
    wait_until(lambda: len(denials(client, a.id)) >= 4, timeout=30,
               message="the refused sockets' denials")
    statuses = sorted(e["newValues"]["status"] for e in denials(client, a.id))
    assert statuses == [401, 403, 404, 429]
    assert not denials(client, b.id)
