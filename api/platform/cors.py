"""CORS: which origins may call the API (CORS_ORIGINS), preflight answers, response headers.

Preflights are answered before routing (they carry no credentials, so the auth guards must
not see them). A refused preflight gets 403 `cors_preflight_rejected` with the one error body.
Per-organization origins (the seed's settings.security.allowedOrigins) plug in as extra
`OriginCheck`s: the identity issue adds one that reads the authenticated principal's
organization from the scope's state, and, for preflights, whether any organization allows
the origin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from litestar.datastructures import Headers
from litestar.types import Message, Scope

from api.platform.errors import ApiException
from api.platform.headers import HeaderStep, get_header
from infra.settings import Settings

ALLOW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match",
                 "Chronicle-Version", "X-Request-Id", "X-Correlation-Id", "Accept-Language")
EXPOSE_HEADERS = ("X-Request-Id", "ETag", "Location", "Idempotent-Replayed", "RateLimit-Limit",
                  "RateLimit-Remaining", "RateLimit-Reset", "X-RateLimit-Limit",
                  "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After",
                  "Chronicle-Version", "Content-Language")
EXPOSED = ", ".join(EXPOSE_HEADERS)
MAX_AGE_S = 600
_ALLOWED_HEADER_NAMES = frozenset(h.lower() for h in ALLOW_HEADERS) | {"accept", "content-language"}

OriginCheck = Callable[[str, Scope], bool]


@dataclass(frozen=True)
class Cors:
    """The CORS policy: the global origins, plus any further checks (per-organization origins)."""

    origins: frozenset[str] = frozenset()
    checks: tuple[OriginCheck, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Cors:
        return cls(frozenset(origin.lower() for origin in settings.cors_origin_list))

    @property
    def enabled(self) -> bool:
        return bool(self.origins or self.checks)

    def allows(self, origin: str, scope: Scope) -> bool:
        return ("*" in self.origins or origin.lower() in self.origins
                or any(check(origin, scope) for check in self.checks))

    def preflight(self, scope: Scope) -> dict[str, str]:
        """The headers of an accepted preflight; raises 403 for a refused one."""
        headers = Headers.from_scope(scope)
        origin = headers.get("origin", "")
        method = headers.get("access-control-request-method", "").upper()
        asked = [h.strip() for h in headers.get("access-control-request-headers", "").split(",")
                 if h.strip()]
        refused = {
            "origin": not self.allows(origin, scope),
            "method": method not in ALLOW_METHODS,
            "headers": any(h.lower() not in _ALLOWED_HEADER_NAMES for h in asked),
        }
        if any(refused.values()):
            raise ApiException(403, "cors_preflight_rejected",
                               details={"refused": [k for k, bad in refused.items() if bad]})
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ", ".join(ALLOW_METHODS),
            "Access-Control-Allow-Headers": ", ".join(ALLOW_HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE_S),
            "Vary": "Origin",
        }

    def response_headers(self) -> HeaderStep:
        """A response step: the CORS headers of an actual (non-preflight) response."""

        def add_cors_headers(message: Message, scope: Scope, values: dict[str, str]) -> None:
            if not self.enabled:
                return
            vary = get_header(message, "vary")
            if vary is None or "Origin" not in vary:
                values["Vary"] = f"{vary}, Origin" if vary else "Origin"
            origin = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                           if k == b"origin"), None)
            if origin and not is_preflight(scope) and self.allows(origin, scope):
                values["Access-Control-Allow-Origin"] = origin
                values["Access-Control-Expose-Headers"] = EXPOSED

        return add_cors_headers


def is_preflight(scope: Scope) -> bool:
    if scope.get("method") != "OPTIONS":
        return False
    names = {name for name, _ in scope.get("headers", ())}
    return b"origin" in names and b"access-control-request-method" in names
