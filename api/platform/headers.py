"""Response headers written straight into the ASGI start message, in one pass each.

litestar's MutableScopeHeaders decodes and lowercases every header of the message for each
header it sets; the before_send hooks set about sixteen per response, which was ~20 % of an
authenticated read's CPU. These helpers compare raw lowercased bytes instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from litestar.types import Message, Scope

SendHook = Callable[[Message, Scope], Awaitable[None]]
# What one part of the platform adds to a response's start: it reads the message and the
# scope, and writes the headers it wants into the dict.
HeaderStep = Callable[[Message, Scope, dict[str, str]], None]


def _raw(message: Message) -> list[tuple[bytes, bytes]]:
    found: Any = message.get("headers")
    if not isinstance(found, list):
        found = list(found or ())
        message["headers"] = found  # type: ignore[typeddict-unknown-key]
    return cast("list[tuple[bytes, bytes]]", found)


def set_headers(message: Message, values: Mapping[str, str]) -> None:
    """Set each header of ``values``, replacing any the message already has under that name."""
    wanted = [(name.lower().encode("latin-1"), value.encode("latin-1"))
              for name, value in values.items()]
    names = {name for name, _ in wanted}
    headers = _raw(message)
    if any(name.lower() in names for name, _ in headers):
        headers[:] = [h for h in headers if h[0].lower() not in names]
    headers.extend(wanted)


def set_header(message: Message, name: str, value: str) -> None:
    set_headers(message, {name: value})


def get_header(message: Message, name: str) -> str | None:
    key = name.lower().encode("latin-1")
    return next((v.decode("latin-1") for n, v in _raw(message) if n.lower() == key), None)


def on_response_start(*steps: HeaderStep) -> SendHook:
    """The app's one before_send hook: every step, on the start message only, then one pass
    over the headers. litestar awaits each hook for every message, start and body alike, so
    six hooks cost twelve awaits and six header scans a response; this costs one of each."""

    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        values: dict[str, str] = {}
        for step in steps:
            step(message, scope, values)
        set_headers(message, values)

    return hook
