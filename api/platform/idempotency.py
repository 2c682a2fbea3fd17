"""Idempotency-Key on writes (Stripe semantics) and the one way a command's response is made.

Same key, same parameters: the first response is replayed without running again. Same key,
other parameters: 422. While the first request still runs: 409. Keys live 24 hours. The
record commits with the command's events (commands.idempotency), so a crash between the
commit and the response is answered by replaying on retry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Request, Response

from api.platform.errors import ApiException
from api.platform.offload import in_thread
from api.platform.schemas import CommandAccepted
from commands.idempotency import Claim, Rendered
from commands.ports import DuplicateRecord
from commands.runner import Result, Seal
from infra import idempotency
from infra.container import Container

KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
IN_FLIGHT_MS = 60_000
Command = Callable[[Seal | None], Result]


def render(status: int, location: bool | str, named: str | None = None,
           ) -> Callable[[Result], Rendered]:
    """``location``: True for an organization, or the collection path of the new resource;
    ``named``: its last segment when it is addressed by a name rather than its stream id."""
    base = location if isinstance(location, str) else "/v1/organizations"

    def make(result: Result) -> Rendered:
        body = msgspec.json.encode(CommandAccepted(
            id=result.stream_id, version=result.version, position=result.position))
        headers = {"ETag": f'"{result.version}"'}
        if location:
            headers["Location"] = f"{base}/{named or result.stream_id}"
        return Rendered(status, body, headers)

    return make


def respond(rendered: Rendered, *, replayed: bool = False) -> Response[Any]:
    headers = {**rendered.headers, **({"Idempotent-Replayed": "true"} if replayed else {})}
    return Response(rendered.body, status_code=rendered.status, headers=headers,
                    media_type="application/json")


def failpoint(name: str) -> None:
    """Test-only crash points (CHRONICLE_ENV=test and CHRONICLE_FAILPOINTS=name)."""
    if os.environ.get("CHRONICLE_ENV") == "test" and name in os.environ.get(
            "CHRONICLE_FAILPOINTS", "").split(","):
        os._exit(137)


async def run_command(request: Request, container: Container, command: Command, *,
                      status: int = 200, location: bool | str = False,
                      named: str | None = None,
                      make: Callable[[Result], Rendered] | None = None) -> Response[Any]:
    """``make``: the response of a command whose body is not CommandAccepted."""
    made = make or render(status, location, named)
    return await run_rendered(request, container, lambda claim: made(
        command(None if claim is None else Seal(claim, made))))


async def run_rendered(request: Request, container: Container,
                       command: Callable[[Claim | None], Rendered]) -> Response[Any]:
    """Run ``command`` (in a thread: api/platform/offload.py) once per Idempotency-Key: it
    records its rendered response under the claim it is given, with its events."""
    key = request.headers.get("idempotency-key")
    if key is None:
        rendered = await in_thread(command, None)
        failpoint("after_commit")
        return respond(rendered)
    if not KEY.match(key):
        raise ApiException(400, "invalid_idempotency_key",
                           "Idempotency-Key must be 1-255 printable ASCII characters")
    actor = request.scope["state"]["actor"]
    claim = Claim(f"{actor.kind}:{actor.id}", key, idempotency.fingerprint(
        request.method, request.url.path, await request.body()))
    return await _once(container, claim, command)


async def _once(container: Container, claim: Claim,
                command: Callable[[Claim | None], Rendered]) -> Response[Any]:
    if replay := await _replay(container, claim):
        return replay
    lock = f"{container.settings.redis_key_prefix}idempotency:{claim.scope}:{claim.key}"
    if not await container.redis.set(lock, "1", nx=True, px=IN_FLIGHT_MS):
        raise ApiException(409, "idempotency_key_in_use",
                           "a request with this Idempotency-Key is still being processed")
    try:
        if replay := await _replay(container, claim):
            return replay
        try:
            rendered = await in_thread(command, claim)
        except DuplicateRecord:
            if replay := await _replay(container, claim):
                return replay
            raise
        failpoint("after_commit")
        return respond(rendered)
    finally:
        await container.redis.delete(lock)


async def _replay(container: Container, claim: Claim) -> Response[Any] | None:
    async with container.pool.connection() as conn:
        cur = await conn.execute(idempotency.SELECT, (claim.scope, claim.key))
        saved = idempotency.saved_from(await cur.fetchone())
    if saved is None:
        return None
    if saved.fingerprint != claim.fingerprint:
        raise ApiException(422, "idempotency_key_reused",
                           "this Idempotency-Key was used with different parameters")
    return respond(Rendered(saved.status, saved.body, saved.headers), replayed=True)
