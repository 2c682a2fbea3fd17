"""Security headers on every response, and the cheap request limits (header bytes, JSON depth).

HSTS is sent only when the request reached the app over https (the ASGI scheme, which the
server sets when it terminates TLS itself) or when BEHIND_TLS_PROXY says a TLS-terminating
proxy fronts every request (granian rewrites no proxy headers, so X-Forwarded-Proto is not
trusted). Browsers ignore HSTS received over plain http anyway (RFC 6797, section 8.1).
"""

from __future__ import annotations

import re

from litestar.types import Message, Scope

from api.platform.headers import HeaderStep, get_header
from infra.settings import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The bundled Swagger UI under /docs: its own scripts, styles and the spec, nothing else.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
# The /dashboard pages (api/dashboard/): their bundled script, style and stream, no inline code,
# and their forms post only to the app itself.
DASHBOARD_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                 "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HSTS = "max-age=63072000; includeSubDomains"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}



def is_docs(path: str) -> bool:
    return path == "/docs" or path.startswith("/docs/")


def is_dashboard(path: str) -> bool:
    return path == "/dashboard" or path.startswith("/dashboard/")


def is_v1(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def security_headers(settings: Settings) -> HeaderStep:
    """A response step: CSP, HSTS, nosniff, Referrer-Policy, X-Frame-Options, and
    Cache-Control: no-store on /v1 unless a route chose its own caching."""

    def add_security_headers(message: Message, scope: Scope, values: dict[str, str]) -> None:
        path = scope.get("path", "")
        values["Content-Security-Policy"] = (
            DOCS_CSP if is_docs(path) else DASHBOARD_CSP if is_dashboard(path) else API_CSP)
        values.update(ALWAYS)
        if settings.behind_tls_proxy or scope.get("scheme") == "https":
            values["Strict-Transport-Security"] = HSTS
        if is_v1(path) and get_header(message, "cache-control") is None:
            values["Cache-Control"] = "no-store"

    return add_security_headers


def header_bytes(scope: Scope) -> int:
    """Total bytes of the request's header names and values."""
    return sum(len(name) + len(value) for name, value in scope.get("headers", ()))


# A JSON string (escapes included, unterminated ones run to the end: linear time) or a bracket.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_OPEN = frozenset(b"[{")


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether a JSON document nests arrays and objects deeper than ``limit``, before decoding.

    Counting brackets (in C) settles almost every body; only a body with more brackets than
    the limit is tokenized, skipping brackets inside strings.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for token in _TOKENS.finditer(body):
        first = token.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif first != ord('"'):
            depth -= 1
    return False
