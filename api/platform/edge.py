"""The outermost ASGI layer: what is settled before routing, and older versions' response shapes.

Before routing, for every HTTP request: the client and scheme a trusted proxy forwarded
(api/platform/proxy.py), the header size limit (431), FORCE_HTTPS (308 to https, or 403), CORS
preflights, and the API version (400 if unknown). Around the route: the JSON depth limit,
checked on the raw body as it is read (before anything decodes it), and the rewrite of a 2xx
JSON body into the shape of the version asked for. Responses made here pass through the
app's before_send hooks too.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import MediaType, Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from api.platform import proxy, versioning
from api.platform.cors import Cors, is_preflight
from api.platform.errors import ApiException, on_api
from api.platform.security import header_bytes, json_too_deep
from infra.settings import Settings

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Edge:
    """Wraps the litestar app's ASGI handler (inside its before_send hooks)."""

    def __init__(self, app: ASGIApp, settings: Settings, cors: Cors) -> None:
        self.app, self.settings, self.cors = app, settings, cors
        self.proxies = settings.trusted_proxy_networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            early = self._answer_early(scope)
        except ApiException as exc:
            early = on_api(Request(scope, receive, send), exc)
        if early is not None:
            request: Request[Any, Any, Any] = Request(scope, receive, send)
            await early.to_asgi_response(app=None, request=request)(scope, receive, send)
            return
        http = cast("HTTPScope", scope)
        steps = versioning.undo_steps(versioning.version_of(scope), http["method"], http["path"])
        await self.app(scope, self._depth_guarded(http, receive),
                       _rewriting(send, steps) if steps else send)

    def _answer_early(self, scope: Scope) -> Response[Any] | None:
        proxy.apply(scope, self.proxies)
        if header_bytes(scope) > self.settings.max_header_bytes:
            raise ApiException(431, "headers_too_large",
                               params={"max": self.settings.max_header_bytes})
        if _has_nul(scope):
            # PostgreSQL cannot compare or store NUL: refused here, once, for every route.
            raise ApiException(400, "invalid_parameter",
                               details={"refused": "a NUL character in the path or query"})
        if (self.settings.force_https and not proxy.is_secure(scope)
                and not scope.get("path", "").startswith("/health/")):
            return _to_https(scope)
        if is_preflight(scope):
            return Response(None, status_code=204, media_type=MediaType.TEXT,
                            headers=self.cors.preflight(scope))
        scope.setdefault("state", {})[versioning.STATE_KEY] = versioning.requested(scope)
        return None

    def _depth_guarded(self, scope: HTTPScope, receive: Receive) -> Receive:
        """``receive``, refusing a JSON body nested deeper than MAX_JSON_DEPTH once it is whole.

        Raised from inside the route's body read, so the app's exception handlers answer it.
        A body over MAX_BODY_BYTES is not kept: litestar refuses it with 413 on its own.
        """
        if scope["method"] not in BODY_METHODS or not _may_be_json(scope):
            return receive
        limit, cap = self.settings.max_json_depth, self.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0

        async def guarded() -> Any:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request" and size <= cap:
                chunk = message.get("body", b"")
                size += len(chunk)
                chunks.append(chunk)
                if size > cap:
                    chunks.clear()
                elif not message.get("more_body", False) and json_too_deep(b"".join(chunks), limit):
                    raise ApiException(400, "json_too_deep", params={"max": limit})
            return message

        return guarded


def _has_nul(scope: Scope) -> bool:
    query = scope.get("query_string", b"")
    return b"%00" in query or b"\x00" in query or "\x00" in scope.get("path", "")


def _to_https(scope: Scope) -> Response[Any]:
    """Plain http under FORCE_HTTPS: a read is redirected (308 keeps the method); anything
    else is refused, since its body (and credentials) already crossed the network in clear."""
    if scope.get("method") not in ("GET", "HEAD"):
        raise ApiException(403, "forbidden", reason="https_required")
    host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), "")
    query = scope.get("query_string", b"").decode("latin-1")
    target = f"https://{host.split(':')[0]}{scope.get('path', '/')}" + (f"?{query}" if query else "")
    return Response(None, status_code=308, media_type=MediaType.TEXT,
                    headers={"Location": target})


def _may_be_json(scope: Scope) -> bool:
    content_type = next((v for k, v in scope.get("headers", ()) if k == b"content-type"), b"")
    return not content_type or b"json" in content_type.lower()


def _rewriting(send: Send, steps: list[Any]) -> Send:
    """``send``, holding a 2xx JSON response's start until its body is rewritten."""
    held: list[Message] = []

    async def rewriting_send(message: Message) -> None:
        if message["type"] == "http.response.start" and 200 <= message["status"] < 300 and (
                "json" in MutableScopeHeaders.from_message(message).get("content-type", "")):
            held.append(message)
            return
        if held and message["type"] == "http.response.body":
            start = held.pop()
            if not message.get("more_body", False):
                body = versioning.rewrite(message.get("body", b""), steps)
                MutableScopeHeaders.from_message(start)["Content-Length"] = str(len(body))
                message = {**message, "body": body}
            await send(start)
        await send(message)

    return rewriting_send
