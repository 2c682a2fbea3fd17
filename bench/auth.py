"""What authentication costs per request: the same GET with the operator token, an API key
(in-process key cache) and a JWT (signature check against the in-memory key ring), against
the unauthenticated floor of the same app (GET /health/live), all in one run.

Why these routes: no /v1 route can be called without credentials, so the handler is held
fixed instead: GET /v1/sessions does one Redis read for every principal, and the operator
token (a constant-time string compare) is the near-zero authentication baseline the key and
the JWT are divided by. /health/live shows what the rest of the stack costs with no guard.
"""

from __future__ import annotations

import statistics
import uuid
from datetime import UTC, datetime

import httpx

from bench import wrk
from infra.container import ring_for
from infra.settings import Settings
from infra.tokens import TokenService

SESSIONS = {"resource": "sessions", "actions": ["read"]}


def credentials(base: str, operator: str, settings: Settings) -> dict[str, str]:
    """An organization, an API key and a user's JWT for it."""
    headers = {"Authorization": f"Bearer {operator}"}
    org = httpx.post(f"{base}/v1/organizations", headers=headers, json={
        "name": "Bench", "slug": f"auth-{uuid.uuid4().hex[:8]}", "plan": "enterprise"}).json()
    key = httpx.post(f"{base}/v1/api-keys", headers=headers, json={
        "name": "bench", "organizationId": org["id"], "permissions": [SESSIONS]}).json()
    httpx.get(f"{base}/v1/api-keys/{key['id']}", headers=headers,
              params={"min_position": key["position"]})
    ring = ring_for(settings)
    ring.refresh(datetime.now(UTC), rotate_if_due=False)
    tokens = TokenService(ring, settings.jwt_issuer, settings.jwt_audience, 3600)
    jwt, _ = tokens.issue(subject=str(uuid.uuid4()), organization_id=uuid.UUID(org["id"]),
                          kind="user", now=datetime.now(UTC), scope="sessions:read")
    return {"org": org["id"], "operator": operator, "api key": key["key"], "jwt": jwt}


def compare(base: str, operator: str, settings: Settings, seconds: int,
            connections: int) -> list[str]:
    found = credentials(base, operator, settings)
    path = f"/v1/sessions?organization_id={found['org']}"
    cases = {"GET /health/live (no auth)": ("", "/health/live"),
             **{f"GET /v1/sessions ({name})": (found[name], path)
                for name in ("operator", "api key", "jwt")}}
    runs: dict[str, list[wrk.Load]] = {name: [] for name in cases}
    for _ in range(3):  # interleaved rounds, so drift hits every case alike
        for name, (token, target) in cases.items():
            runs[name].append(wrk.run(base, token, f"path:{target}", seconds, connections))
    rates = {n: statistics.median(r.rate for r in v) for n, v in runs.items()}
    floor, operator_rate = rates["GET /health/live (no auth)"], rates["GET /v1/sessions (operator)"]
    lines = []
    for name, rate in rates.items():
        p99 = statistics.median(r.p99_ms for r in runs[name])
        bad = sum(r.non_2xx for r in runs[name])
        lines.append(f"  {name:<32} {rate:8.0f} req/s p99 {p99:6.1f} ms non-2xx {bad}"
                     f" | /no-auth {rate / floor:.2f} | /operator {rate / operator_rate:.2f}")
    return lines
