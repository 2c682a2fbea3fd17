"""Optional HMAC request signing for API keys (Stripe-webhook style, in the other direction).

    Chronicle-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(signing secret, payload)>
    payload = "<t>.<METHOD>.<path with ?query>.<hex SHA-256 of the body>"

The signing secret is shown once with the key (and again after a roll); it is derived from
the key's stored hash with API_SECRET, so nothing more is stored. A key issued with
``requireSignature`` refuses unsigned requests; any request that carries the header is
verified. Timestamps more than SIGNATURE_SKEW_S away from the server's clock are refused, and
each signature is accepted once (remembered in PostgreSQL for twice the skew, so a Redis that
restarts empty cannot let a used one through again).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from litestar import Request
from litestar.connection import ASGIConnection

from api.platform.errors import ApiException
from commands.apikeys import signing_secret
from infra.container import Container

HEADER = "chronicle-signature"
SIGNATURE_SKEW_S = 300
_FORMAT = re.compile(r"^t=(\d{1,12}),v1=([0-9a-f]{64})$")
CHALLENGE = {"WWW-Authenticate": 'Bearer error="invalid_request"'}


def payload(timestamp: int, method: str, target: str, body: bytes) -> bytes:
    return f"{timestamp}.{method.upper()}.{target}.{hashlib.sha256(body).hexdigest()}".encode()


def sign(secret: str, timestamp: int, method: str, target: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), payload(timestamp, method, target, body), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def target_of(connection: ASGIConnection) -> str:
    # raw_path excludes the query by the ASGI spec; some servers leave it in, so cut it off.
    raw = connection.scope.get("raw_path", b"").split(b"?", 1)[0]
    path = raw.decode("latin-1") or connection.scope["path"]
    query = connection.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def refuse(reason: str, **params: str | int) -> ApiException:
    return ApiException(401, "invalid_signature", reason=reason, params=params, headers=CHALLENGE)


async def verify(connection: ASGIConnection, container: Container, hashed_key: str,
                 required: bool, now: float | None = None) -> None:
    """Check the request's signature for the key whose stored hash is ``hashed_key``."""
    header = connection.headers.get(HEADER)
    if header is None:
        if required:
            raise refuse("signature_required")
        return
    found = _FORMAT.fullmatch(header.strip())
    if found is None:
        raise refuse("signature_malformed")
    timestamp, given = int(found.group(1)), found.group(2)
    if abs((now if now is not None else time.time()) - timestamp) > SIGNATURE_SKEW_S:
        raise refuse("signature_expired", skew=SIGNATURE_SKEW_S)
    body = await connection.body() if isinstance(connection, Request) else b""
    secret = signing_secret(container.api_keys.api_secret, hashed_key)
    method = str(connection.scope.get("method", "GET"))
    expected = sign(secret, timestamp, method, target_of(connection), body)
    if not hmac.compare_digest(expected.encode(), f"t={timestamp},v1={given}".encode()):
        raise refuse("signature_mismatch")
    # Durable (PostgreSQL) for the whole window its timestamp is accepted in; when the
    # database cannot answer, the 503 handler refuses the request rather than guess.
    if not await container.signatures.first_use(given, 2 * SIGNATURE_SKEW_S):
        raise refuse("signature_replayed")
