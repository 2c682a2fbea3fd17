"""A request id on every request and every response (X-Request-Id), accepting the caller's."""

from __future__ import annotations

import re
import uuid

from litestar.types import Message, Scope

from api.headers import set_header

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def ensure_request_id(scope: Scope) -> str:
    """The request's id: the caller's X-Request-Id if well-formed, else a new one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = next((v.decode("latin-1") for k, v in scope.get("headers", [])
                      if k == b"x-request-id"), "")
        state["request_id"] = given if _VALID.match(given) else f"req_{uuid.uuid4().hex}"
    return str(state["request_id"])


async def add_request_id(message: Message, scope: Scope) -> None:
    """before_send hook: runs for every response, unknown routes included."""
    if message["type"] == "http.response.start":
        set_header(message, "X-Request-Id", ensure_request_id(scope))
