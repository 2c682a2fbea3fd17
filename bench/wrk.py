"""Load from wrk (a C load generator, so the client is not the bottleneck), parsed."""

from __future__ import annotations

import re
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import NamedTuple

SCRIPT = """
local token, mode, nonce = "%(token)s", "%(mode)s", "%(nonce)s"
local counter = 0
id = 0  -- a global: thread:set() gives each thread its own value
function setup(thread) id = id + 1; thread:set("id", id) end
function request()
  counter = counter + 1
  local headers = {["Authorization"] = "Bearer " .. token,
                   ["Content-Type"] = "application/json"}
  if mode == "get" then
    return wrk.format("GET", "/v1/organizations?limit=1", headers)
  end
  if string.sub(mode, 1, 5) == "path:" then
    if token == "" then headers["Authorization"] = nil end
    return wrk.format("GET", string.sub(mode, 6), headers)
  end
  local unique = string.format("%%s-%%d-%%d", nonce, id, counter)
  if mode == "idempotent" then headers["Idempotency-Key"] = "k-" .. unique end
  return wrk.format("POST", "/v1/organizations", headers,
                    '{"name":"Bench","slug":"w-' .. unique .. '"}')
end
"""


class Load(NamedTuple):
    rate: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int = 0  # completed in the run


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run(url: str, token: str, mode: str, seconds: int, connections: int) -> Load:
    """``mode``: get, create (no Idempotency-Key), idempotent (a fresh key per request) or
    path:<path> (GET it; an empty ``token`` sends no Authorization)."""
    script = Path(tempfile.mkdtemp()) / "load.lua"
    script.write_text(SCRIPT % {"token": token, "mode": mode, "nonce": uuid.uuid4().hex[:12]})
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(script), url],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Load(rate, p50, p99, int(bad.group(1)) if bad else 0, done)
