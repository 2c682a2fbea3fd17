"""HTTP organization writes (throughput, latency) and command-to-read-model lag."""

from __future__ import annotations

import time
import uuid

import httpx


def lag(base: str, token: str, samples: int) -> list[float]:
    """Per write: ms from the command's response until a read with its position answers."""
    out: list[float] = []
    with httpx.Client(base_url=base, timeout=60, trust_env=False,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(samples):
            created = client.post("/v1/organizations", json={
                "name": "Lag", "slug": f"lag-{uuid.uuid4().hex[:16]}"}).json()
            started = time.perf_counter()
            response = client.get(f"/v1/organizations/{created['id']}",
                                  params={"min_position": created["position"]})
            out.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return out
