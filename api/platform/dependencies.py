"""What a route receives of its request, as litestar dependencies: the container's services,
the envelope's context, the If-Match version and the ``min_position`` wait.

A route names what it needs (``container: Services``, ``ctx: Ctx``, ``expected: Expected``,
``caught_up: CaughtUp``) and create_app registers the providers once (``providers``); a
controller whose reads wait for a read model registers ``waits_for(projection)``. Every
provider is synchronous and does no I/O, so none runs in a thread (``sync_to_thread=False``),
and ``one_at_a_time`` keeps litestar from resolving them in a task group.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Litestar, Request
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter, SkipValidation

from api.platform.bodies import storable
from api.platform.errors import ApiException
from api.platform.middleware import ensure_request_id
from api.platform.proxy import origin_of
from commands.runner import Context
from domain.permissions import conditioned
from infra import tracing
from infra.container import Container
from projections.status import wait_for

VERSION = re.compile(r"[0-9]{1,18}")  # a stream version: ASCII digits, within a bigint
# What routes name to receive a provider's value. The providers built it, so litestar need not
# check it again (a check of the container alone costs ~14 us a request).
Services = NamedDependency[SkipValidation[Container]]
Ctx = NamedDependency[SkipValidation[Context]]
Expected = NamedDependency[SkipValidation[int | None]]


class Wait:
    """A route's ``caught_up``: ``await caught_up(container)`` waits until the projection has
    applied the request's ``min_position``; ``satisfied_by(position)`` tells whether something
    read at ``position`` (a cached row) is new enough without waiting."""

    __slots__ = ("min_position", "projection")

    def __init__(self, min_position: int | None, projection: str) -> None:
        self.min_position, self.projection = min_position, projection

    def __call__(self, container: Container) -> Awaitable[None]:
        return caught_up(container, self.min_position, self.projection)

    def satisfied_by(self, position: int) -> bool:
        return self.min_position is None or position >= self.min_position


CaughtUp = NamedDependency[SkipValidation[Wait]]
# litestar documents `int | None` as a oneOf without the bound: the minimum is stated
# beside it, so a client (and schemathesis) knows that -1 is refused with 400.
MinPosition = Annotated[int | None, QueryParameter(
    name="min_position", ge=0, le=2**63 - 1, required=False,
    schema_extra={"minimum": 0, "maximum": 2**63 - 1},
    description="Wait (bounded) until the read model has applied this event store position, "
                "the `position` a command answered with; 503 if it does not in time.")]


def correlation_of(request: Request) -> str:
    return storable(request.headers.get("x-correlation-id", ""), 128)


def provide_context(request: Request) -> Context:
    """Who asks and in which request: copied into every event the request's command appends."""
    request_id = ensure_request_id(request.scope)
    principal = request.scope["state"].get("principal")
    grants = principal.grants if principal is not None and conditioned(principal.grants) else None
    # The request's span, for the commands that append without a span of their own
    # (transactions); a command's own span (commands/runner.py) replaces it.
    return Context(actor=request.scope["state"]["actor"], request_id=request_id,
                   correlation_id=correlation_of(request) or request_id, grants=grants,
                   traceparent=tracing.current_traceparent(), **origin_of(request))


def provide_expected(request: Request) -> int | None:
    """The version If-Match names (None: absent or ``*``, no check)."""
    raw = request.headers.get("if-match", "").strip()
    if not raw or raw == "*":
        return None
    raw = raw.removeprefix("W/").strip('"')
    if not VERSION.fullmatch(raw):  # ASCII digits only: int() takes "²" and fails on it
        raise ApiException(400, "invalid_parameter", "If-Match must be a version, like \"3\"",
                           reason="if_match_invalid")
    return int(raw)


async def caught_up(container: Container, min_position: int | None, projection: str) -> None:
    """Wait (bounded) until ``projection`` has applied everything up to ``min_position``."""
    if min_position is None:
        return
    timeout = container.settings.read_wait_timeout_ms / 1000
    if not await wait_for(container.pool, projection, min_position, timeout):
        raise ApiException(503, "not_caught_up",
                           f"the read model has not reached position {min_position} yet",
                           params={"min_position": min_position}, headers={"Retry-After": "1"})


def waits_for(projection: str) -> dict[str, Provide]:
    """A controller's ``caught_up``: ``await caught_up(container)`` waits until ``projection``
    has applied the request's ``min_position``. The route awaits it after its access checks,
    so a caller that may not read is refused at once rather than after the wait. It takes the
    container when called rather than as a dependency of its own: one parameter for litestar
    to parse instead of two halves its cost (~6 us a request instead of ~14)."""

    def provide(min_position: MinPosition) -> Wait:
        return Wait(min_position, projection)

    return {"caught_up": Provide(provide, sync_to_thread=False)}


def providers(container: Callable[[], Container]) -> dict[str, Provide]:
    """The app-wide providers; ``container`` answers the app's container (set on startup)."""
    return {"container": Provide(container, sync_to_thread=False),
            "ctx": Provide(provide_context, sync_to_thread=False),
            "expected": Provide(provide_expected, sync_to_thread=False)}


def one_at_a_time(app: Litestar) -> Litestar:
    """Resolve each route's dependencies one after the other, in their dependency order.

    litestar resolves independent dependencies together in an anyio task group, which costs
    a few tasks and a turn of the event loop (0.2-0.3 ms a request here, litestar issue
    #4563) to run providers that return at once. Flattening the batches keeps the order that
    matters: a provider's own dependencies come in an earlier batch.
    """
    for route in app.routes:
        handlers: dict[str, tuple[Any, Any]] = getattr(route, "route_handler_map", {})
        for _handler, kwargs in handlers.values():
            kwargs.dependency_batches = [{d} for batch in kwargs.dependency_batches
                                         for d in batch]
    return app
