"""The cost of the rate limiter and the idempotency layer: the same requests with both on
(rate limits enforced in Redis, an Idempotency-Key on every write) and with both off."""

from __future__ import annotations

import statistics

from bench import wrk


def compare(on: str, off: str, token: str, seconds: int, connections: int) -> list[str]:
    """Alternate on/off runs (three rounds each); report medians and the on/off ratio."""
    lines = []
    for label, on_mode, off_mode in (("GET /v1/organizations", "get", "get"),
                                     ("POST /v1/organizations", "idempotent", "create")):
        runs: dict[str, list[wrk.Load]] = {"on": [], "off": []}
        for _ in range(3):
            runs["on"].append(wrk.run(on, token, on_mode, seconds, connections))
            runs["off"].append(wrk.run(off, token, off_mode, seconds, connections))
        med = {k: (statistics.median(r.rate for r in v), statistics.median(r.p99_ms for r in v))
               for k, v in runs.items()}
        lines.append(
            f"  {label:<24} on {med['on'][0]:7.0f} req/s p99 {med['on'][1]:7.1f} ms"
            f" | off {med['off'][0]:7.0f} req/s p99 {med['off'][1]:7.1f} ms"
            f" | on/off {med['on'][0] / med['off'][0]:.2f}")
    return lines
