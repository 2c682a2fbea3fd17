"""The public JSON Web Key Set (RFC 7517): every key whose signed tokens may still be valid."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from litestar import Response, get

from api.auth.schemas import Jwks
from api.platform.dependencies import Services
from api.platform.openapi import health

JWK_SET = "application/jwk-set+json"  # RFC 7517 section 8.5
CACHE_S = 300  # shorter than a rotation's overlap: a verifier sees a new key before it signs much


@get("/.well-known/jwks.json", summary="The public keys that verify Chronicle's access tokens",
     tags=["oauth"], media_type=JWK_SET, **health())
async def jwks(container: Services) -> Response[Jwks]:
    body = msgspec.convert(container.ring.jwks(datetime.now(UTC)), Jwks)
    return Response(body, headers={"Cache-Control": f"public, max-age={CACHE_S}"})
