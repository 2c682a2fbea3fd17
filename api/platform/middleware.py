"""Steps on every response's headers (api/platform/headers.py ``on_response_start``): a request
id (X-Request-Id, accepting the caller's) and the full Allow of an OPTIONS answer."""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any

from litestar.types import Message, Scope

from api.platform.headers import get_header

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def ensure_request_id(scope: Scope) -> str:
    """The request's id: the caller's X-Request-Id if well-formed, else a new one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = next((v.decode("latin-1") for k, v in scope.get("headers", [])
                      if k == b"x-request-id"), "")
        state["request_id"] = given if _VALID.match(given) else f"req_{os.urandom(16).hex()}"
    return str(state["request_id"])


def add_request_id(_message: Message, scope: Scope, values: dict[str, str]) -> None:
    """Runs for every response, unknown routes included."""
    values["X-Request-Id"] = ensure_request_id(scope)


@cache
def _methods_by_path(app: Any) -> dict[str, str]:
    methods: dict[str, set[str]] = {}
    # Keyed as scope["path_template"] is; one path can be several routes, one per handler.
    for route in app.routes:
        methods.setdefault(route.path_format, set()).update(getattr(route, "methods", ()))
    return {path: ", ".join(sorted(m)) for path, m in methods.items()}


def full_allow(message: Message, scope: Scope, values: dict[str, str]) -> None:
    """litestar's OPTIONS answer lists only the methods of the handler that
    first registered the path (a controller's GET and POST on one path are separate handlers);
    the Allow sent is every method the path has, as a 405 already lists them."""
    if scope.get("method") != "OPTIONS":
        return
    methods = _methods_by_path(scope["app"]).get(scope.get("path_template", ""))
    if methods and get_header(message, "allow") is not None:
        values["Allow"] = methods
