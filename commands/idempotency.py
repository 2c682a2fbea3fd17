"""Idempotency records (Stripe semantics), as the use cases see them: a command's response under
the caller's claim (scope, key, request fingerprint), committed with the command's events.

Because the record commits with the events, a crash can never run a command twice nor lose the
response of one that ran. The store keeps it (infra/idempotency.py: 24 hours in PostgreSQL).
"""

from __future__ import annotations

from typing import NamedTuple


class Claim(NamedTuple):
    scope: str
    key: str
    fingerprint: bytes


class Rendered(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]


class Record(NamedTuple):
    """A command's response under the caller's claim: committed with the command's events."""

    claim: Claim
    rendered: Rendered
